/**
 * bench:agent — the run loop's own cost per step. A zero-latency fake LLM drives 50-step runs (one
 * `remember` call per turn) on `wrangler dev`. Per step, the loop itself times the span from an LLM
 * reply to its next request minus the tools' time (parsing, argument validation, the checkpoint, the
 * D1 step write + run update, the context bound, building the request) and logs it at the end of the
 * run (`run.timing`). Cross-check from outside: the fake's answer → next arrival gap minus tool time,
 * which also holds one Node↔workerd hop (a no-op GET /health is timed under the same load for scale).
 * Target: median overhead < 5 ms.
 */
import { loadavg } from "node:os";
import { api, llmStats, percentile, scriptedGoal, startBench, waitForEnd } from "./lib/agent-runs.ts";

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const STEPS = 50;

const bench = await startBench();
const noop: number[] = [];
let sampling = true;
const sampler = (async () => {
  while (sampling) {
    const t = performance.now();
    // wrangler dev reloads when files change (other work in this tree): skip a failed sample.
    if (await fetch(`${bench.dev.url}/health`).then((r) => r.ok, () => false)) noop.push(performance.now() - t);
    await new Promise((r) => setTimeout(r, 20));
  }
})();
try {
  const inside: number[] = [];
  const outside: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const { goalId, key } = await scriptedGoal(
      bench,
      { turns: [], then: { toolCalls: [{ name: "remember", arguments: { content: "benchmark note" } }] }, closing: { text: "Benchmark done." } },
      { stepBudget: STEPS },
    );
    const run = await api<{ id: string }>(bench, "POST", `/goals/${goalId}/run`);
    const [ended] = [...(await waitForEnd(bench, [run.id])).values()];
    if (ended.status !== "completed") throw new Error(`run ${run.id} ended ${ended.status}`);
    const steps = (await api<{ items: { durationMs: number }[] }>(bench, "GET", `/runs/${run.id}/steps?limit=500`)).items;
    const stats = await llmStats(bench, key);
    for (let i = 0; i < STEPS - 1; i++) outside.push(stats.arrivals[i + 1] - stats.responded[i] - steps[i].durationMs);
    // The run.timing log line of this run (wrangler dev prints the Worker's console output).
    let timing: { overheadMs: number[]; wallMs: number; llmMs: number; toolMs: number } | undefined;
    for (let t = 0; t < 40 && !timing; t++) {
      const line = bench.dev.logs().split("\n").find((l) => l.includes('"run.timing"') && l.includes(run.id));
      if (line) timing = JSON.parse(line.slice(line.indexOf("{")));
      else await new Promise((res) => setTimeout(res, 100));
    }
    if (!timing) throw new Error(`no run.timing log line from the Worker; its output ends with:\n${bench.dev.logs().slice(-3000)}`);
    inside.push(...timing.overheadMs);
    console.log(`run ${r + 1}/${RUNS}: ${ended.stepsExecuted} steps in ${timing.wallMs} ms (LLM ${timing.llmMs} ms, tools ${timing.toolMs} ms)`);
  }
  sampling = false;
  await sampler;
  for (const a of [inside, outside, noop]) a.sort((x, y) => x - y);
  const med = percentile(inside, 50);
  console.log(`\nbench:agent — ${inside.length} steps (${RUNS} runs × ${STEPS} steps, zero-latency fake LLM), load average ${loadavg()[0].toFixed(1)}`);
  console.log(`  per-step overhead of our code, timed in the loop: median ${med} ms, p90 ${percentile(inside, 90)} ms (target: median < 5 ms) ${med < 5 ? "✓" : "✗"}`);
  console.log(`  cross-check from the fake: answer → next request minus tool time: median ${percentile(outside, 50)} ms (includes a Node↔workerd hop; a no-op GET /health round trip takes ${percentile(noop, 50).toFixed(1)} ms here)`);
} finally {
  sampling = false;
  await bench.stop();
}
