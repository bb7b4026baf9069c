/**
 * bench:agent — the per-step cost of the run loop as a user sees it, measured outside the Worker: a
 * zero-latency fake LLM drives 50-step runs whose every turn is one 5-byte `write_file`, on `wrangler dev`.
 * - Per-step overhead: at the fake, the gap from a reply that asked for a tool to the same run's next
 *   request (everything in between: parsing, the tool with its R2 put and output row, checkpoints, D1
 *   writes, building the next request, and the Node↔workerd hops). Median and p90, and per tenth of the run
 *   (flat from step 1 to step 50?).
 * - CPU per step: the workerd processes' CPU (from /proc) over the runs, divided by their steps.
 * - Bytes stashed per step: from the Worker's `run.timing` log line (`stashBytes`, one entry per step).
 * - Run-now latency: `POST /goals/:id/run` sent → the run's first LLM request arrives at the fake.
 * Targets (issue 13): median ≤ 3 ms, p90 ≤ 5 ms, CPU ≤ 4 ms per step; run-now under 100 ms.
 * BENCH_PROFILE=<file> writes a CPU profile of the Worker's isolate over the measured runs (and prints its top).
 */
import { loadavg } from "node:os";
import { join } from "node:path";
import { FAKE_OPENAI_KEY, onArrival } from "../test/fakes/llm.ts";
import { api, llmStats, percentile, scriptedGoal, startBench, waitForEnd } from "./lib/agent-runs.ts";
import { startDevServer } from "./lib/dev-server.ts";
import { startProfile } from "./lib/profile.ts";

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
/** BENCH_TOOL=none calls a tool that does not exist: the loop's own cost, without the tool's R2 put and D1 row. */
const CALL =
  process.env.BENCH_TOOL === "none" ? { name: "no_such_tool", arguments: {} } : { name: "write_file", arguments: { path: "notes/step.txt", content: "hello" } };
const STEPS = 50;
/** At the fake: from each reply that asked for a tool to the same run's next request (the last request closes the run). */
const gapsOf = (s: { arrivals: number[]; responded: number[] }) => Array.from({ length: STEPS - 1 }, (_, i) => s.arrivals[i + 1] - s.responded[i]);

const bench = await startBench();
try {
  // One warm-up run: the first run of an isolate compiles and builds what later runs reuse.
  const runOnce = async (label: string) => {
    const { goalId, key } = await scriptedGoal(
      bench,
      {
        turns: [],
        then: { toolCalls: [CALL] },
        closing: { text: "Benchmark done." },
      },
      { stepBudget: STEPS },
    );
    const cpu0 = bench.dev.workerdCpuSeconds();
    // The CPU of the steps alone: read as the 2nd and the last tool turn's requests arrive at the fake (the run's
    // start and end, and the queue's later delivery of the run-now message, fall outside).
    const at: Record<number, number> = {};
    onArrival.hook = (k, n) => {
      if (k === key && (n === 2 || n === STEPS)) at[n] = bench.dev.workerdCpuSeconds();
    };
    const posted = Date.now();
    const run = await api<{ id: string }>(bench, "POST", `/goals/${goalId}/run`);
    const [ended] = [...(await waitForEnd(bench, [run.id])).values()];
    const cpu = bench.dev.workerdCpuSeconds() - cpu0;
    if (ended.status !== "completed") throw new Error(`run ${run.id} ended ${ended.status}`);
    const stats = await llmStats(bench, key);
    const gaps = gapsOf(stats);
    let timing: { stashBytes?: number[]; writes?: number; wallMs: number } | undefined;
    for (let t = 0; t < 40 && !timing; t++) {
      const line = bench.dev
        .logs()
        .split("\n")
        .find((l) => l.includes('"run.timing"') && l.includes(run.id));
      if (line) timing = JSON.parse(line.slice(line.indexOf("{")));
      else await new Promise((res) => setTimeout(res, 100));
    }
    const runNowMs = Math.round(stats.arrivals[0] - posted);
    console.log(
      `${label}: run-now → first LLM request ${runNowMs} ms; ${ended.stepsExecuted} steps, ${timing?.wallMs ?? "?"} ms wall, ${(cpu * 1000).toFixed(0)} ms workerd CPU`,
    );
    // A negative delta means wrangler restarted workerd meanwhile (files changed): no figure for that run.
    const steps = at[STEPS] - at[2];
    return {
      gaps,
      cpuMsPerStep: cpu >= 0 ? (cpu * 1000) / ended.stepsExecuted : NaN,
      cpuMsPerStepAlone: steps >= 0 ? (steps * 1000) / (STEPS - 2) : NaN,
      stash: timing?.stashBytes,
      writes: timing?.writes,
    };
  };
  await runOnce("warm-up");
  const gaps: number[][] = [];
  const cpu: number[] = [];
  const cpuAlone: number[] = [];
  let stash: number[] | undefined;
  const writes: (number | undefined)[] = [];
  const stopProfile = process.env.BENCH_PROFILE ? await startProfile(bench.dev.inspectorPort) : null;
  for (let r = 0; r < RUNS; r++) {
    const res = await runOnce(`run ${r + 1}/${RUNS}`);
    gaps.push(res.gaps);
    cpu.push(res.cpuMsPerStep);
    cpuAlone.push(res.cpuMsPerStepAlone);
    stash ??= res.stash;
    writes.push(res.writes);
  }
  await stopProfile?.(process.env.BENCH_PROFILE!);
  const all = gaps.flat().sort((a, b) => a - b);
  console.log(
    `\nbench:agent — ${RUNS} runs × ${STEPS} steps of ${CALL.name === "write_file" ? "a 5-byte write_file" : "an unknown tool (no I/O)"}, zero-latency fake LLM, load average ${loadavg()[0].toFixed(1)}`,
  );
  console.log(
    `  per-step overhead at the fake (reply → next request): median ${percentile(all, 50).toFixed(1)} ms, p90 ${percentile(all, 90).toFixed(1)} ms (targets ≤ 3 / ≤ 5 ms)`,
  );
  const tenths = Array.from({ length: 5 }, (_, k) => {
    const part = gaps.flatMap((g) => g.slice(k * 10, k * 10 + 10)).sort((a, b) => a - b);
    return `steps ${k * 10 + 1}-${k * 10 + 10}: ${percentile(part, 50).toFixed(1)}`;
  });
  console.log(`  median by position: ${tenths.join(" · ")} ms`);
  console.log(
    `  workerd CPU per step, the steps alone (between the 2nd and the ${STEPS}th request): ${cpuAlone.map((c) => c.toFixed(2)).join(", ")} ms (target ≤ 4 ms)`,
  );
  console.log(`  workerd CPU per step, whole run (start, end, the queue's late delivery): ${cpu.map((c) => c.toFixed(2)).join(", ")} ms`);
  console.log(`  grouped step writes (D1 batch + R2 puts) per ${STEPS + 1}-step run: ${writes.map((w) => w ?? "?").join(", ")}`);
  if (stash?.length)
    console.log(`  bytes stashed: step 1 ${stash[0]}, step ${stash.length} ${stash[stash.length - 1]} (total ${stash.reduce((a, b) => a + b, 0)})`);
  else console.log("  bytes stashed: not reported by this Worker (no stashBytes in run.timing)");

  // The floors: a Worker that does nothing but ask the same fake for the same calls through the openai SDK, and the
  // same loop in a Durable Object that stores each step's messages before its next request.
  const floor = await startDevServer({}, { config: join(import.meta.dirname, "floor.wrangler.toml") });
  const median = (xs: number[]) =>
    percentile(
      [...xs].sort((a, b) => a - b),
      50,
    );
  let durableFloor: { gap: number; cpu: number } | null = null;
  try {
    for (const durable of [false, true]) {
      const floorGaps: number[] = [];
      const floorCpu: number[] = [];
      for (let r = 0; r <= RUNS; r++) {
        const key = `bench-floor-${process.pid}-${durable}-${r}`;
        await fetch(`${bench.llmUrl}/__scripts`, { method: "POST", body: JSON.stringify({ key, script: { turns: [], then: { toolCalls: [CALL] } } }) });
        const cpu0 = floor.workerdCpuSeconds();
        const body = JSON.stringify({ baseURL: `${bench.llmUrl}/v1`, apiKey: FAKE_OPENAI_KEY, prompt: `[script:${key}]`, steps: STEPS, durable });
        const res = await fetch(`${floor.url}/llm-loop`, { method: "POST", body });
        if (!res.ok) throw new Error(`floor: ${res.status} ${await res.text()}`);
        if (r === 0) continue; // warm-up
        floorCpu.push(((floor.workerdCpuSeconds() - cpu0) * 1000) / STEPS);
        const stats = await llmStats(bench, key);
        floorGaps.push(...gapsOf(stats));
      }
      floorGaps.sort((a, b) => a - b);
      if (durable) durableFloor = { gap: percentile(floorGaps, 50), cpu: median(floorCpu) };
      const what = durable ? "the model calls, each step's messages stored in a Durable Object" : "only the model calls, through the openai SDK";
      console.log(
        `  floor (bench/floor-worker.ts: ${what}): median ${percentile(floorGaps, 50).toFixed(1)} ms, p90 ${percentile(floorGaps, 90).toFixed(1)} ms, workerd CPU per step ${floorCpu.map((c) => c.toFixed(2)).join(", ")} ms`,
      );
    }
    // What the run loop adds to a loop that stores each step durably (the Durable Object's commit included in both).
    if (durableFloor)
      console.log(
        `  the run loop beyond the second floor: median gap ${(percentile(all, 50) - durableFloor.gap).toFixed(1)} ms, workerd CPU per step ${(median(cpuAlone) - durableFloor.cpu).toFixed(1)} ms`,
      );
  } finally {
    await floor.stop();
  }
} finally {
  await bench.stop();
}
