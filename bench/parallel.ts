/**
 * bench:parallel — 200 runs of 5 steps started at once against a fake LLM with 500 ms latency, on
 * `wrangler dev`. Each run belongs to its own goal, so each has its own GoalAgent (Durable Object)
 * and they proceed in parallel. Prints a single run's time, then the makespan of the 200 (first
 * POST /goals/:id/run → last endedAt). Target: makespan < 2× the single run.
 */
import { writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { startProfile } from "./lib/profile.ts";
import { api, llmStats, scriptedGoal, setLatency, startBench, waitForEnd, type RunView } from "./lib/agent-runs.ts";

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
  const s1 = await llmStats(bench, single.key);
  const gaps1 = s1.arrivals.slice(1).map((a, i) => a - s1.responded[i]);
  console.log(`single run: ${singleView.stepsExecuted} steps, ${singleMs} ms (${singleView.status}); first LLM request ${s1.arrivals[0] - t1} ms after the POST, gaps between LLM calls ${gaps1.join("/")} ms, run ended ${singleMs - (s1.responded.at(-1)! - t1)} ms after the last answer`);

  const made: { goalId: string; key: string }[] = [];
  for (let i = 0; i < N; i += 20) made.push(...(await Promise.all(Array.from({ length: Math.min(20, N - i) }, () => scriptedGoal(bench, script)))));
  const goals = made.map((g) => g.goalId);
  await setLatency(bench, LATENCY_MS); // also resets the fake's max-concurrency counter
  // BENCH_PROFILE=<file>: a CPU profile of the Worker over the 200 runs.
  const stopProfile = process.env.BENCH_PROFILE ? await startProfile(bench.dev.inspectorPort) : null;
  const cpu0 = bench.dev.workerdCpuSeconds();
  const t0 = Date.now();
  const runs = await Promise.all(goals.map((g) => api<{ id: string }>(bench, "POST", `/goals/${g}/run`)));
  const startedIn = Date.now() - t0;
  const ended = await waitForEnd(bench, runs.map((r) => r.id));
  const cpuBurst = bench.dev.workerdCpuSeconds() - cpu0;
  const wallBurst = (Date.now() - t0) / 1000;
  await stopProfile?.(process.env.BENCH_PROFILE!);
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
  // The same runs as the fake LLM saw them: how late the first request came, how long the fake took to
  // answer (its 500 ms plus its own queueing), and the gap between an answer and the run's next request
  // (our response handling, tools, checkpoint and the Worker's own queueing).
  const seen = await Promise.all(made.map((g) => llmStats(bench, g.key)));
  const firstReq = seen.map((s) => s.arrivals[0] - t0);
  const answer = seen.flatMap((s) => s.arrivals.map((a, i) => s.responded[i] - a));
  const gaps = seen.flatMap((s) => s.arrivals.slice(1).map((a, i) => a - s.responded[i]));
  const p = (xs: number[], q: number) => xs.sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))];
  console.log(`  as the fake LLM saw it: first request p10 ${p(firstReq, 0.1)} / p50 ${p(firstReq, 0.5)} / max ${p(firstReq, 1)} ms after the first POST; answer p50 ${p(answer, 0.5)} ms; gap answer → next request p50 ${p(gaps, 0.5)} / p90 ${p(gaps, 0.9)} / max ${p(gaps, 1)} ms`);
  const load = (await (await fetch(`${bench.llmUrl}/__load`)).json()) as { maxInFlight: number };
  console.log(`  most LLM requests in flight at once: ${load.maxInFlight}`);
  // Sum of the runs' own durations over the makespan: how many ran at once on average.
  const busy = views.reduce((a, v) => a + Date.parse(v.endedAt!) - Date.parse(v.startedAt!), 0);
  console.log(`  runs in progress at once, on average: ${(busy / makespan).toFixed(0)}`);
  console.log(`  workerd CPU from the first POST to the last run's end: ${cpuBurst.toFixed(1)} s in ${wallBurst.toFixed(1)} s (${((1000 * cpuBurst) / N).toFixed(0)} ms per run, incl. local D1/Queues emulation); its main thread is one core`);
  console.log(`  makespan ${makespan} ms vs single run ${singleMs} ms: ${(makespan / singleMs).toFixed(2)}× (target < 2×) ${makespan < 2 * singleMs ? "✓" : "✗"}`);
  if (process.env.BENCH_LOGS) writeFileSync(process.env.BENCH_LOGS, bench.dev.logs()); // everything the Worker printed
} finally {
  await bench.stop();
}
