/**
 * bench:cli — wall time of the bundled CLI as a user runs it: `async-agent --help` (startup only) and
 * `async-agent goal list --json` against a local Worker (`wrangler dev` on 127.0.0.1, 50 goals).
 * Prints median and p95 of several runs. Targets: --help under 150 ms, goal list under 300 ms.
 * Each command is timed interleaved with a bare `node -e ''`, so the figure "over node" (what the CLI
 * itself adds) stays meaningful when the machine is busy.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { percentile, startDevServer } from "./lib/dev-server.ts";

const RUNS = Number(process.env.BENCH_RUNS ?? 20);
const TOKEN = "bench-token";
const ROOT = new URL("..", import.meta.url).pathname;
const BIN = join(ROOT, "cli/dist/async-agent.js");

execFileSync(process.execPath, [join(ROOT, "cli/build.mjs")], { stdio: "inherit" });
const home = mkdtempSync(join(tmpdir(), "async-agent-bench-home-"));

function once(argv: string[], env: Record<string, string>): number {
  const t = performance.now();
  execFileSync(process.execPath, argv, { env: { PATH: process.env.PATH ?? "", HOME: home, ...env } as unknown as NodeJS.ProcessEnv, stdio: "pipe" });
  return performance.now() - t;
}

/** `argv` is what follows `node`. */
function bench(label: string, argv: string[], env: Record<string, string>, target: number) {
  once(argv, env); // warm the file cache and the server; not counted
  const ms: number[] = [];
  const floor: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    floor.push(once(["-e", ""], {}));
    ms.push(once(argv, env));
  }
  ms.sort((a, b) => a - b);
  floor.sort((a, b) => a - b);
  const p50 = percentile(ms, 50);
  const f = (n: number) => `${n.toFixed(0)} ms`;
  console.log(
    `${label.padEnd(30)} ${RUNS} runs  median ${f(p50)}  p95 ${f(percentile(ms, 95))}  min ${f(ms[0])}` +
      `  | node alone: median ${f(percentile(floor, 50))}  → CLI adds ${f(p50 - percentile(floor, 50))}` +
      `  (target < ${target} ms: ${p50 < target ? "ok" : "OVER TARGET"})`,
  );
}

bench("async-agent --help", [BIN, "--help"], {}, 150);

const server = await startDevServer({ API_TOKEN: TOKEN, LLM_PROVIDER: "openai", OPENAI_API_KEY: "unused", OPENAI_MODEL: "gpt-4.1-mini" });
try {
  const headers = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };
  for (let i = 0; i < 50; i++) {
    const body = JSON.stringify({ objective: `bench goal ${i}`, schedule: { cron: "0 16 * * 5", timezone: "Europe/Berlin" } });
    const res = await fetch(`${server.url}/api/v1/goals`, { method: "POST", headers, body });
    if (res.status !== 201) throw new Error(`seeding failed: ${res.status} ${await res.text()}`);
  }
  bench("async-agent goal list --json", [BIN, "goal", "list", "--json"], { ASYNC_AGENT_URL: server.url, ASYNC_AGENT_TOKEN: TOKEN }, 300);
} finally {
  await server.stop();
  rmSync(home, { recursive: true, force: true });
}
