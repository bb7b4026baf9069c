/**
 * bench:first-hour — what a new user meets, measured from outside:
 * 1. warnings printed by `npm install` on a fresh clone, under an older Node (the machine's, or Node 20 from the
 *    npm registry) — needs the npm registry; `BENCH_SKIP_INSTALL=1` skips it;
 * 2. seconds from `npm run dev` to healthy (`/health` answers) and to its verdict, and the lines printed before the
 *    verdict: on a new state (migrations to apply), then again on the same state (none pending);
 * 3. the minute lag of a local scheduled run: its fire time (the minute) to its start, over BENCH_TICKS minutes
 *    (default 2), with the fake LLM of test/fakes/llm.ts.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { testBindings } from "../test/bindings.ts";
import { oldNode } from "../test/e2e/old-node.ts";
import { startLlm } from "../test/fakes/llm.ts";
import { freePort } from "./lib/dev-server.ts";
import { npmRunDev, stop, VERDICT } from "./lib/npm-run-dev.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const TICKS = Number(process.env.BENCH_TICKS ?? 2);
const old = oldNode();
console.log(`older Node for the user's shell: v${old.version} (${old.dir})`);

if (!process.env.BENCH_SKIP_INSTALL) {
  const clone = mkdtempSync(join(tmpdir(), "async-agent-clone-"));
  spawnSync("git", ["clone", "-q", ROOT, clone], { stdio: "inherit" });
  const t = performance.now();
  const r = spawnSync(join(old.dir, "node"), [process.env.npm_execpath ?? "npm", "install", "--no-audit", "--no-fund"], {
    cwd: clone,
    encoding: "utf8",
    env: { ...process.env, PATH: `${old.dir}${delimiter}${process.env.PATH}` },
  });
  const out = `${r.stdout}${r.stderr}`;
  const warnings = out.split("\n").filter((l) => /\bwarn\b/i.test(l)).length;
  console.log(
    `npm install on a fresh clone: exit ${r.status}, ${((performance.now() - t) / 1000).toFixed(1)} s, ${warnings} warning line(s), ${out.trim().split("\n").length} line(s) in all:`,
  );
  console.log(out.trim().replace(/^/gm, "  | "));
  rmSync(clone, { recursive: true, force: true });
}

const llm = await startLlm();
const dir = mkdtempSync(join(tmpdir(), "async-agent-first-hour-"));
const envFile = join(dir, "dev.vars");
const vars = { ...testBindings({ llm: llm.port }), API_TOKEN: "bench-token-first-hour" };
writeFileSync(
  envFile,
  Object.entries(vars)
    .map(([k, v]) => `${k}=${v}`)
    .join("\n"),
);
const port = await freePort();

/** Starts `npm run dev`, prints the seconds to healthy and to the verdict, and what came before the verdict. */
async function start(label: string) {
  const started = performance.now();
  const dev = npmRunDev(old.dir, port, ["--env-file", envFile, "--persist-to", join(dir, "state")]);
  let healthy = Number.NaN;
  while (Number.isNaN(healthy) && performance.now() - started < 150_000) {
    if (
      await fetch(`http://127.0.0.1:${port}/health`).then(
        (r) => r.ok,
        () => false,
      )
    )
      healthy = (performance.now() - started) / 1000;
    else await new Promise((r) => setTimeout(r, 50));
  }
  await dev.waitFor(VERDICT, 150_000);
  const seconds = (performance.now() - started) / 1000;
  const before = dev.output().slice(0, dev.output().search(VERDICT)).split("\n").filter(Boolean);
  console.log(`npm run dev (${label}) → healthy ${healthy.toFixed(1)} s, verdict ${seconds.toFixed(1)} s; ${before.length} line(s) before it:`);
  for (const l of before) console.log(`  | ${l}`);
  return dev;
}

await stop(await start("new state: migrations to apply"));
const dev = await start("same state again: no migration pending");
try {
  const api = (path: string, init: RequestInit = {}) =>
    fetch(`http://127.0.0.1:${port}/api/v1${path}`, { ...init, headers: { authorization: `Bearer ${vars.API_TOKEN}`, "content-type": "application/json" } });
  const goal = (await (
    await api("/goals", { method: "POST", body: JSON.stringify({ objective: "first-hour bench", schedule: { cron: "* * * * *" } }) })
  ).json()) as { id: string };
  const lags: number[] = [];
  const deadline = Date.now() + (TICKS + 1) * 60_000 + 30_000;
  while (lags.length < TICKS && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 2000));
    const runs = (await (await api(`/runs?goalId=${goal.id}&limit=100`)).json()) as {
      items: { trigger: string; scheduledFor: string; startedAt: string | null }[];
    };
    lags.splice(
      0,
      lags.length,
      ...runs.items.filter((r) => r.trigger === "schedule" && r.startedAt).map((r) => Date.parse(r.startedAt!) - Date.parse(r.scheduledFor)),
    );
  }
  console.log(`scheduled runs: ${lags.length}; fire time → run start: ${lags.map((l) => `${(l / 1000).toFixed(2)} s`).join(", ")}`);
} finally {
  await stop(dev);
  await llm.close();
  rmSync(dir, { recursive: true, force: true });
}
