/** `async-agent files …`: the files a goal's runs wrote (list, and download one). */
import { stat, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import type { Command } from "commander";
import { contextFor, examples } from "../context";
import { UsageError } from "../errors";
import { relativeTime } from "../output";
import { visible } from "../terminal-safe";
import { positiveInt } from "./goal.cmd";

/** 512 → "512 B", 1536 → "1.5 KB". */
function size(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** The bytes as text, or null when they are not UTF-8 text (a NUL, or an invalid sequence). */
function asText(bytes: Uint8Array): string | null {
  if (bytes.includes(0)) return null;
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    return null;
  }
}

export function registerFiles(program: Command): void {
  const files = program.command("files").description("the files a goal's runs wrote");
  examples(files, ["async-agent files list goal_01J…", "async-agent files get goal_01J… reports/2026-11-27.md -o report.md"]);

  examples(files.command("list").argument("<goal-id>", "goal id").description("list a goal's files: path, size, type, when written"), [
    "async-agent files list goal_01J…",
    "async-agent files list goal_01J… --prefix reports/",
    "async-agent files list goal_01J… --all --json | jq -r '.items[].path'",
  ])
    .option("--prefix <path>", "only files under this path, e.g. reports/")
    .option("--limit <n>", "how many (max 1000; with --all, per request)", positiveInt, 100)
    .option("--all", "every file, following the pages")
    .action(async (goalId: string, f: { prefix?: string; limit: number; all?: boolean }, cmd: Command) => {
      const { p, client } = await contextFor(cmd);
      const list = (cursor?: string) => client.listFiles(goalId, { prefix: f.prefix, limit: f.limit, cursor });
      const page = f.all ? await client.allPages(list) : await list();
      p.result(page, (pg) => {
        if (!pg.items.length) return p.line(p.c.dim(`No files${f.prefix ? ` under ${f.prefix}` : ""}.`));
        p.table(
          ["PATH", "SIZE", "TYPE", "WRITTEN"],
          pg.items.map((x) => [x.path, size(x.size), x.contentType?.split(";")[0] ?? "—", relativeTime(x.uploadedAt)]),
        );
        if (pg.nextCursor) p.note(`showing the first ${pg.items.length}; more with --all`);
      });
    });

  examples(
    files
      .command("get")
      .argument("<goal-id>", "goal id")
      .argument("<path>", "the file's path, as `files list` shows it")
      .description("download a file to -o <file>, or to stdout"),
    [
      "async-agent files get goal_01J… reports/2026-11-27.md -o report.md",
      "async-agent files get goal_01J… data/seen.json | jq .",
      "async-agent files get goal_01J… reports/2026-11-27.md -o ./downloads/   # keeps the file's name",
    ],
  )
    .option("-o, --output <file>", "write to this file (or into this directory); - or none: stdout")
    .addHelpText("after", "\nTo stdout the bytes go out as stored; on a terminal, text only, with control characters made visible.")
    .action(async (goalId: string, path: string, f: { output?: string }, cmd: Command) => {
      const { p, client } = await contextFor(cmd);
      const toStdout = !f.output || f.output === "-";
      if (toStdout && p.json) throw new UsageError("--json needs -o <file>: without it the file itself goes to stdout");
      const file = await client.downloadFile(goalId, path);
      if (toStdout) {
        if (!process.stdout.isTTY) return void process.stdout.write(file.bytes);
        // A file the agent wrote from web content may carry escape sequences: a terminal gets them made visible.
        const text = asText(file.bytes);
        if (text === null) throw new UsageError(`${path} is binary (${file.contentType ?? "unknown type"}): save it with -o <file>, or pipe it`);
        return void process.stdout.write(`${visible(text)}${text.endsWith("\n") || !text ? "" : "\n"}`);
      }
      let output = f.output as string;
      if ((await stat(output).catch(() => null))?.isDirectory()) output = join(output, basename(path));
      await writeFile(output, file.bytes);
      p.result({ goalId, path, output, size: file.bytes.byteLength, contentType: file.contentType }, (r) =>
        p.success(`saved ${r.path} to ${r.output} (${size(r.size)})`),
      );
    });
}
