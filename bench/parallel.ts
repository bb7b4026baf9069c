/**
 * bench:parallel — 200 runs of 5 steps started at once against a fake LLM with 500 ms latency, on
 * `wrangler dev`. Each run belongs to its own goal, so each has its own GoalAgent (Durable Object)
 * and they proceed in parallel. Prints a single run's time, then the makespan of the 200 (first
 * POST /goals/:id/run → last endedAt). Target: makespan < 2× the single run.
 *
 * Two rounds on the same 200 goals: first runs (every agent is created: a new Durable Object and its
 * SQLite schema), then runs of goals that ran before (the agents exist). Each round also prints where
 * the time went and the CPU workerd used: locally every Worker, Durable Object and the D1/Queues
 * emulation share one workerd main thread, so a round cannot end before that thread has done its work.
 *
 * BENCH_PARALLEL=<n> changes the number of runs; BENCH_PROFILE=<file> writes a CPU profile of the
 * Worker's isolate over the first round (BENCH_PROFILE_ROUND=2: the second); BENCH_LOGS=<file> keeps
 * everything the Worker printed.
 */
import { writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { startProfile } from "./lib/profile.ts";
import { api, llmStats, scriptedGoal, setLatency, startBench, waitForEnd, type Bench, type RunView } from "./lib/agent-runs.ts";

const N = Number(process.env.BENCH_PARALLEL ?? 200);
const LATENCY_MS = 500;
const script = {
  turns: [1, 2, 3, 4].map((i) => ({ toolCalls: [{ name: "remember", arguments: { content: `note ${i}` } }] })),
  then: { toolCalls: [{ name: "finish", arguments: { summary: "Five steps done." } }] },
};

type Goal = { goalId: string; key: string };
const p = (xs: number[], q: number) => Math.round([...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))]);
const runTime = (v: RunView, t0: number) => Date.parse(v.endedAt!) - t0;

/** The Worker's JSON log lines of one kind, for the given runs. */
function logLines<T extends { runId: string }>(bench: Bench, marker: string, ids: Set<string>): T[] {
  return bench.dev
    .logs()
    .split("\n")
    .filter((l) => l.includes(marker))
    .map((l) => JSON.parse(l.slice(l.indexOf("{"))) as T)
    .filter((t) => ids.has(t.runId));
}

/** Starts one run of every goal at once, waits for all, prints the figures; returns the makespan. */
async function burst(bench: Bench, goals: Goal[], label: string, singleMs: number, profile: boolean): Promise<number> {
  await setLatency(bench, LATENCY_MS); // also resets the fake's max-concurrency counter
  const stopProfile = profile ? await startProfile(bench.dev.inspectorPort) : null;
  const cpu0 = bench.dev.workerdCpuSeconds();
  const t0 = Date.now();
  const runs = await Promise.all(goals.map((g) => api<{ id: string }>(bench, "POST", `/goals/${g.goalId}/run`)));
  const startedIn = Date.now() - t0;
  const ended = await waitForEnd(
    bench,
    runs.map((r) => r.id),
  );
  const cpu = bench.dev.workerdCpuSeconds() - cpu0;
  const wall = (Date.now() - t0) / 1000;
  await stopProfile?.(process.env.BENCH_PROFILE!);

  const views = [...ended.values()];
  const makespan = Math.max(...views.map((v) => runTime(v, t0)));
  const byStatus = views.reduce<Record<string, number>>((acc, v) => ((acc[v.status] = (acc[v.status] ?? 0) + 1), acc), {});
  console.log(`\nbench:parallel, ${label} — ${N} runs × 5 steps, fake LLM latency ${LATENCY_MS} ms, load average ${loadavg()[0].toFixed(1)}`);
  console.log(`  ${N} POST /goals/:id/run took ${startedIn} ms; outcomes ${JSON.stringify(byStatus)}`);
  console.log(
    `  last run started ${Math.max(...views.map((v) => Date.parse(v.startedAt!) - t0))} ms after the first POST; the longest run took ${Math.max(...views.map((v) => Date.parse(v.endedAt!) - Date.parse(v.startedAt!)))} ms from its start`,
  );
  const ids = new Set(runs.map((r) => r.id));
  const timings = logLines<{ runId: string; wallMs: number; llmMs: number; toolMs: number }>(bench, '"run.timing"', ids);
  if (timings.length)
    console.log(
      `  inside a run (median of ${timings.length}): loop ${p(
        timings.map((t) => t.wallMs),
        0.5,
      )} ms, of which LLM ${p(
        timings.map((t) => t.llmMs),
        0.5,
      )} ms and tools ${p(
        timings.map((t) => t.toolMs),
        0.5,
      )} ms`,
    );
  const handovers = logLines<{ runId: string; agentMs: number; acceptMs: number }>(bench, '"acceptMs"', ids);
  if (handovers.length)
    console.log(
      `  queue hand-over per run (median of ${handovers.length}): getAgentByName ${p(
        handovers.map((h) => h.agentMs),
        0.5,
      )} ms, acceptRun ${p(
        handovers.map((h) => h.acceptMs),
        0.5,
      )} ms`,
    );
  // The same runs as the fake LLM saw them (this round's requests only): how late the first request
  // came, how long the fake took to answer, and the gap between an answer and the run's next request
  // (response handling, tools, checkpoint and the Worker's own queueing).
  const seen = (await Promise.all(goals.map((g) => llmStats(bench, g.key)))).map((s) => {
    const from = s.arrivals.findIndex((a) => a >= t0);
    return { arrivals: s.arrivals.slice(from), responded: s.responded.slice(from) };
  });
  const firstReq = seen.map((s) => s.arrivals[0] - t0);
  const answer = seen.flatMap((s) => s.arrivals.map((a, i) => s.responded[i] - a));
  const gaps = seen.flatMap((s) => s.arrivals.slice(1).map((a, i) => a - s.responded[i]));
  console.log(
    `  as the fake LLM saw it: first request p10 ${p(firstReq, 0.1)} / p50 ${p(firstReq, 0.5)} / max ${p(firstReq, 1)} ms after the first POST; answer p50 ${p(answer, 0.5)} ms; gap answer → next request p50 ${p(gaps, 0.5)} / p90 ${p(gaps, 0.9)} / max ${p(gaps, 1)} ms`,
  );
  const load = (await (await fetch(`${bench.llmUrl}/__load`)).json()) as { maxInFlight: number };
  // Sum of the runs' own durations over the makespan: how many ran at once on average.
  const busy = views.reduce((a, v) => a + Date.parse(v.endedAt!) - Date.parse(v.startedAt!), 0);
  console.log(`  most LLM requests in flight at once: ${load.maxInFlight}; runs in progress at once, on average: ${(busy / makespan).toFixed(0)}`);
  console.log(
    `  workerd CPU from the first POST to the last run's end: ${cpu.toFixed(1)} s in ${wall.toFixed(1)} s (${((1000 * cpu) / N).toFixed(0)} ms per run, local D1/Queues emulation included)`,
  );
  console.log(
    `  makespan ${makespan} ms vs single run ${singleMs} ms: ${(makespan / singleMs).toFixed(2)}× (target < 2×) ${makespan < 2 * singleMs ? "✓" : "✗"}`,
  );
  return makespan;
}

const bench = await startBench();
try {
  await setLatency(bench, LATENCY_MS);
  const single = await scriptedGoal(bench, script);
  const t1 = Date.now();
  const one = await api<{ id: string }>(bench, "POST", `/goals/${single.goalId}/run`);
  const singleView = (await waitForEnd(bench, [one.id])).get(one.id)!;
  const singleMs = runTime(singleView, t1);
  const s1 = await llmStats(bench, single.key);
  const gaps1 = s1.arrivals.slice(1).map((a, i) => a - s1.responded[i]);
  console.log(
    `single run: ${singleView.stepsExecuted} steps, ${singleMs} ms (${singleView.status}); first LLM request ${Math.round(s1.arrivals[0] - t1)} ms after the POST, gaps between LLM calls ${gaps1.map((g) => g.toFixed(1)).join("/")} ms, run ended ${Math.round(singleMs - (s1.responded.at(-1)! - t1))} ms after the last answer`,
  );

  const goals: Goal[] = [];
  for (let i = 0; i < N; i += 20) goals.push(...(await Promise.all(Array.from({ length: Math.min(20, N - i) }, () => scriptedGoal(bench, script)))));
  const profiled = process.env.BENCH_PROFILE ? Number(process.env.BENCH_PROFILE_ROUND ?? 1) : 0;
  await burst(bench, goals, "first runs of new goals", singleMs, profiled === 1);
  await burst(bench, goals, "the same goals again (their agents exist)", singleMs, profiled === 2);
  if (process.env.BENCH_LOGS) writeFileSync(process.env.BENCH_LOGS, bench.dev.logs());
} finally {
  await bench.stop();
}
