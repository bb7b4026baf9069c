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
 * - Two floors run alternately with the loop, round by round (bench/floor-worker.ts), and the last line pairs each
 *   round's run with the durable floor's run beside it: what the run loop adds, with the machine's drift paired out.
 * Targets (issue 13): median ≤ 3 ms, p90 ≤ 5 ms, CPU ≤ 4 ms per step; run-now under 100 ms.
 * BENCH_PROFILE=<file> writes a CPU profile of the Worker's isolate over the measured runs (and prints its top).
 */
import { loadavg } from "node:os";
import { join } from "node:path";
import { FAKE_OPENAI_KEY, onArrival } from "../test/fakes/llm.ts";
import { api, llmStats, percentile, scriptedGoal, startBench, waitForEnd } from "./lib/agent-runs.ts";
import { startDevServer } from "./lib/dev-server.ts";
import { startProfile } from "./lib/profile.ts";

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
/** BENCH_TOOL=none calls a tool that does not exist: the loop's own cost, without the tool's R2 put and D1 row. */
const CALL =
  process.env.BENCH_TOOL === "none" ? { name: "no_such_tool", arguments: {} } : { name: "write_file", arguments: { path: "notes/step.txt", content: "hello" } };
const STEPS = 50;
/** At the fake: from each reply that asked for a tool to the same run's next request (the last request closes the run). */
const gapsOf = (s: { arrivals: number[]; responded: number[] }) => Array.from({ length: STEPS - 1 }, (_, i) => s.arrivals[i + 1] - s.responded[i]);

const median = (xs: number[]) =>
  percentile(
    [...xs].sort((a, b) => a - b),
    50,
  );

const bench = await startBench();
// The floors (bench/floor-worker.ts): a Worker that does nothing but ask the same fake for the same calls through the
// openai SDK, and the same loop in a Durable Object that stores each step's messages before its next request. Run
// alternately with the run loop, round by round, so that the figures compared were taken in the same minutes (this
// machine's speed drifts by up to 2× within minutes).
const floor = await startDevServer({}, { config: join(import.meta.dirname, "floor.wrangler.toml") }).catch(async (e) => {
  await bench.stop();
  throw e;
});
try {
  const floorOnce = async (durable: boolean, r: number) => {
    const key = `bench-floor-${process.pid}-${durable}-${r}`;
    await fetch(`${bench.llmUrl}/__scripts`, { method: "POST", body: JSON.stringify({ key, script: { turns: [], then: { toolCalls: [CALL] } } }) });
    const cpu0 = floor.workerdCpuSeconds();
    const body = JSON.stringify({ baseURL: `${bench.llmUrl}/v1`, apiKey: FAKE_OPENAI_KEY, prompt: `[script:${key}]`, steps: STEPS, durable });
    const res = await fetch(`${floor.url}/llm-loop`, { method: "POST", body });
    if (!res.ok) throw new Error(`floor: ${res.status} ${await res.text()}`);
    return { gaps: gapsOf(await llmStats(bench, key)), cpu: ((floor.workerdCpuSeconds() - cpu0) * 1000) / STEPS };
  };
  // One warm-up run each: the first run of an isolate compiles and builds what later runs reuse.
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
  await floorOnce(false, 0);
  await floorOnce(true, 0);
  const plainFloor: { gaps: number[]; cpu: number }[] = [];
  const durableFloor: { gaps: number[]; cpu: number }[] = [];
  const gaps: number[][] = [];
  const cpu: number[] = [];
  const cpuAlone: number[] = [];
  let stash: number[] | undefined;
  const writes: (number | undefined)[] = [];
  const stopProfile = process.env.BENCH_PROFILE ? await startProfile(bench.dev.inspectorPort) : null;
  for (let r = 0; r < RUNS; r++) {
    const loop = async () => {
      const res = await runOnce(`run ${r + 1}/${RUNS}`);
      gaps.push(res.gaps);
      cpu.push(res.cpuMsPerStep);
      cpuAlone.push(res.cpuMsPerStepAlone);
      stash ??= res.stash;
      writes.push(res.writes);
    };
    const floors = async () => {
      plainFloor.push(await floorOnce(false, r + 1));
      durableFloor.push(await floorOnce(true, r + 1));
    };
    // Alternate which comes first, so a drift within the round favours neither.
    if (r % 2) await floors().then(loop);
    else await loop().then(floors);
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

  for (const [what, runs] of [
    ["only the model calls, through the openai SDK", plainFloor],
    ["the model calls, each step's messages stored in a Durable Object", durableFloor],
  ] as const) {
    const fg = runs.flatMap((f) => f.gaps).sort((a, b) => a - b);
    console.log(
      `  floor (bench/floor-worker.ts: ${what}): median ${percentile(fg, 50).toFixed(1)} ms, p90 ${percentile(fg, 90).toFixed(1)} ms, workerd CPU per step ${runs.map((f) => f.cpu.toFixed(2)).join(", ")} ms`,
    );
  }
  // What the run loop adds to a loop that stores each step durably (the Durable Object's commit included in both),
  // round by round: each round's run against the floor run taken beside it.
  const gapBeyond = gaps.map((g, r) => median(g) - median(durableFloor[r].gaps));
  const cpuBeyond = cpuAlone.map((c, r) => c - durableFloor[r].cpu);
  const range = (xs: number[]) => `${Math.min(...xs).toFixed(1)} to ${Math.max(...xs).toFixed(1)}`;
  console.log(
    `  the run loop beyond the second floor, paired round by round: median gap ${median(gapBeyond).toFixed(1)} ms (rounds ${range(gapBeyond)}), workerd CPU per step ${median(cpuBeyond).toFixed(1)} ms (rounds ${range(cpuBeyond)})`,
  );
} finally {
  await floor.stop();
  await bench.stop();
}
