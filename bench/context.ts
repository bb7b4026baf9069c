/**
 * bench:context — the largest LLM request of a 20-step run whose tool returns 200 KB each time
 * (estimate: chars/4). It runs the real loop inside workerd against the fake LLM, as the test
 * "keeps every request of a 20-step run with 200 KB results under 16k tokens" does, and prints the
 * figure that test measures. Target: under 16k tokens.
 */
import { spawnSync } from "node:child_process";

const ROOT = new URL("..", import.meta.url).pathname;
const r = spawnSync(
  "npx",
  ["vitest", "run", "--config", "test/vitest.config.ts", "test/worker/agent-llm.test.ts", "-t", "context bound", "--reporter", "dot"],
  { cwd: ROOT, encoding: "utf8" },
);
const line = `${r.stdout}\n${r.stderr}`.split("\n").find((l) => l.includes("largest request of the 20-step"));
if (r.status !== 0 || !line) {
  console.error(r.stdout, r.stderr);
  process.exit(1);
}
const tokens = Number(line.match(/≈ (\d+) tokens/)?.[1]);
console.log(`bench:context — ${line.replace(/\x1b\[[0-9;]*m/g, "").trim()}; target < 16000 tokens ${tokens < 16_000 ? "✓" : "✗"}`);
