import { z } from "zod";
import { outputRow } from "../db/runs";
import type { Env } from "../lib/env";
import { goalPrefix } from "../lib/artifacts";
import { contentTypeFor, FilePathError, normalizePath } from "../lib/file-paths";
import { defineTool, type FileWrite, ToolError } from "./tool";

/** A goal's files are reports and notes: 1 MB each is plenty and keeps one write well inside limits. */
export const MAX_FILE_BYTES = 1024 * 1024;
const READ_CHARS = 50_000;
const LIST_MAX = 200;

function safePath(raw: string, allowEmpty = false): string {
  try {
    return normalizePath(raw, { allowEmpty });
  } catch (e) {
    if (e instanceof FilePathError) throw new ToolError(`invalid path "${raw.slice(0, 200)}": ${e.message}`);
    throw e;
  }
}

const PathField = z.string().min(1).max(1024).describe('Relative path such as "reports/2026-11-25.md" (no leading /, no ..)');

export const writeFileTool = () =>
  defineTool({
    name: "write_file",
    description:
      "Save a text file (markdown, JSON, CSV...) in this goal's storage, replacing any file at that path. Files persist " +
      "across runs and the user can download them. Use .md for reports.",
    input: z.object({ path: PathField, content: z.string().describe("The full file content") }),
    // Journaled: the file is put in R2 right after its step is recorded (agent/step-writer.ts), so a run's
    // writes cost no round trip of their own and a file never exists without the step that wrote it.
    journaled: true,
    execute: async ({ path, content }, ctx) => {
      const rel = safePath(path);
      const size = new TextEncoder().encode(content).byteLength;
      if (size > MAX_FILE_BYTES) throw new ToolError(`content is ${size} bytes; the limit is ${MAX_FILE_BYTES} bytes per file`);
      const contentType = contentTypeFor(rel);
      const file: FileWrite = { key: goalPrefix(ctx.goal.id) + rel, content, contentType, runId: ctx.runId };
      ctx.journal({ output: outputRow({ runId: ctx.runId, kind: "file", path: rel, payload: { size, contentType } }), file });
      return { text: `Saved ${rel} (${size} bytes).` };
    },
  });

/** Puts a file in the goal's R2 space (idempotent: the same write again leaves the same object). */
export async function putFile(env: Env, f: FileWrite): Promise<void> {
  await env.ARTIFACTS.put(f.key, f.content, { httpMetadata: { contentType: f.contentType }, customMetadata: { runId: f.runId } });
}

export const readFileTool = () =>
  defineTool({
    name: "read_file",
    description: "Read a text file from this goal's storage (for example a report saved by an earlier run).",
    input: z.object({ path: PathField }),
    execute: async ({ path }, ctx) => {
      const rel = safePath(path);
      const obj = await ctx.env.ARTIFACTS.get(goalPrefix(ctx.goal.id) + rel);
      if (!obj) throw new ToolError(`no file at ${rel}; list_files shows what exists`);
      const text = await obj.text();
      if (text.length <= READ_CHARS) return { text: `${rel} (${obj.size} bytes):\n\n${text}` };
      return { text: `${rel} (${obj.size} bytes; first ${READ_CHARS} characters of ${text.length}):\n\n${text.slice(0, READ_CHARS)}` };
    },
  });

export const listFilesTool = () =>
  defineTool({
    name: "list_files",
    description: 'List the files in this goal\'s storage, optionally under a folder prefix such as "reports/".',
    input: z.object({ prefix: z.string().max(1024).optional().describe('Folder or name prefix, e.g. "reports/"') }),
    execute: async ({ prefix }, ctx) => {
      const base = goalPrefix(ctx.goal.id);
      // "/" and "." mean the goal's root; a folder prefix keeps its trailing "/" (normalizing would drop it).
      const p = prefix && !/^[./]+$/.test(prefix) ? prefix : "";
      const rel = p ? safePath(p, true) + (p.endsWith("/") ? "/" : "") : "";
      const page = await ctx.env.ARTIFACTS.list({ prefix: base + rel, limit: LIST_MAX });
      if (!page.objects.length) return { text: rel ? `No files under ${rel}.` : "No files yet." };
      const lines = page.objects.map((o) => `- ${o.key.slice(base.length)} (${o.size} bytes, ${o.uploaded.toISOString()})`);
      if (page.truncated) lines.push(`(only the first ${LIST_MAX} are listed: use a narrower prefix)`);
      return { text: lines.join("\n") };
    },
  });
