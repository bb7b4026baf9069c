/**
 * bench:parallel — 200 runs of 5 steps started at once against a fake LLM with 500 ms latency, on
 * `wrangler dev`. Each run belongs to its own goal, so each has its own GoalAgent (Durable Object)
 * and they proceed in parallel. Prints a single run's time, then the makespan of the 200 (first
 * POST /goals/:id/run → last endedAt). Target: makespan < 2× the single run.
 */
import { loadavg } from "node:os";
import { api, scriptedGoal, setLatency, startBench, waitForEnd, type RunView } from "./lib/agent-runs.ts";

const N = Number(process.env.BENCH_PARALLEL ?? 200);
const LATENCY_MS = 500;
const script = {
  turns: [1, 2, 3, 4].map((i) => ({ toolCalls: [{ name: "remember", arguments: { content: `note ${i}` } }] })),
  then: { toolCalls: [{ name: "finish", arguments: { summary: "Five steps done." } }] },
};

const bench = await startBench();
try {
  await setLatency(bench, LATENCY_MS);
  const runTime = (v: RunView, t0: number) => Date.parse(v.endedAt!) - t0;

  const single = await scriptedGoal(bench, script);
  const t1 = Date.now();
  const one = await api<{ id: string }>(bench, "POST", `/goals/${single.goalId}/run`);
  const singleView = (await waitForEnd(bench, [one.id])).get(one.id)!;
  const singleMs = runTime(singleView, t1);
  console.log(`single run: ${singleView.stepsExecuted} steps, ${singleMs} ms (${singleView.status})`);

  const goals: string[] = [];
  for (let i = 0; i < N; i += 20) goals.push(...(await Promise.all(Array.from({ length: Math.min(20, N - i) }, () => scriptedGoal(bench, script).then((g) => g.goalId)))));
  await setLatency(bench, LATENCY_MS); // also resets the fake's max-concurrency counter
  const t0 = Date.now();
  const runs = await Promise.all(goals.map((g) => api<{ id: string }>(bench, "POST", `/goals/${g}/run`)));
  const startedIn = Date.now() - t0;
  const ended = await waitForEnd(bench, runs.map((r) => r.id));
  const views = [...ended.values()];
  const makespan = Math.max(...views.map((v) => runTime(v, t0)));
  const lastStart = Math.max(...views.map((v) => Date.parse(v.startedAt!) - t0));
  const longest = Math.max(...views.map((v) => Date.parse(v.endedAt!) - Date.parse(v.startedAt!)));
  const byStatus = views.reduce<Record<string, number>>((acc, v) => ((acc[v.status] = (acc[v.status] ?? 0) + 1), acc), {});
  console.log(`\nbench:parallel — ${N} runs × 5 steps, fake LLM latency ${LATENCY_MS} ms, load average ${loadavg()[0].toFixed(1)}`);
  console.log(`  ${N} POST /goals/:id/run took ${startedIn} ms; outcomes ${JSON.stringify(byStatus)}`);
  console.log(`  last run started ${lastStart} ms after the first POST; the longest run took ${longest} ms from its start`);
  // Where the time went inside the runs (their run.timing log lines).
  const ids = new Set(runs.map((r) => r.id));
  const timings = bench.dev
    .logs()
    .split("\n")
    .filter((l) => l.includes('"run.timing"'))
    .map((l) => JSON.parse(l.slice(l.indexOf("{"))) as { runId: string; wallMs: number; llmMs: number; toolMs: number })
    .filter((t) => ids.has(t.runId));
  const med = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  if (timings.length)
    console.log(`  inside a run (median of ${timings.length}): loop ${med(timings.map((t) => t.wallMs))} ms, of which LLM ${med(timings.map((t) => t.llmMs))} ms and tools ${med(timings.map((t) => t.toolMs))} ms`);
  const handovers = bench.dev
    .logs()
    .split("\n")
    .filter((l) => l.includes('"at":"queue"') && l.includes("acceptMs"))
    .map((l) => JSON.parse(l.slice(l.indexOf("{"))) as { runId: string; agentMs: number; acceptMs: number })
    .filter((h) => ids.has(h.runId));
  if (handovers.length)
    console.log(`  queue handover per run (median of ${handovers.length}): getAgentByName ${med(handovers.map((h) => h.agentMs))} ms, acceptRun ${med(handovers.map((h) => h.acceptMs))} ms`);
  const load = (await (await fetch(`${bench.llmUrl}/__load`)).json()) as { maxInFlight: number };
  console.log(`  most LLM requests in flight at once: ${load.maxInFlight}`);
  console.log(`  makespan ${makespan} ms vs single run ${singleMs} ms: ${(makespan / singleMs).toFixed(2)}× (target < 2×) ${makespan < 2 * singleMs ? "✓" : "✗"}`);
} finally {
  await bench.stop();
}
