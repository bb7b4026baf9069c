/**
 * Scenario 9, load: 1,000 goals created by 50 concurrent clients, then 100 runs started at once. Every goal is
 * created once, every run completes once with its steps in order and its file written; the API's latency is
 * measured meanwhile (creation requests, and reads made while the 100 runs execute) and reported, not asserted:
 * the machine is shared, and its speed is not the system's promise.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { percentile } from "../../bench/lib/dev-server.ts";
import { contiguous, stepsOf } from "./lib/effects.ts";
import { record } from "./lib/report.ts";
import { ENDED, poll, type Res, scriptLlm, startSystem, type System } from "./lib/system.ts";

const CLIENTS = 50;
const GOALS = 1000;
const RUNS = 100;

let sys: System;
beforeAll(async () => {
  sys = await startSystem();
});
afterAll(() => sys?.stop());

const ms = (sorted: number[], p: number) => `${percentile(sorted, p).toFixed(0)} ms`;

describe("scenario 9: load", () => {
  const created: string[] = [];
  const createMs: number[] = [];
  const figures: string[] = [];
  const row = { trials: 0, passed: 0, lost: 0, duplicated: 0, stuck: 0 };
  afterAll(() => record({ scenario: "9 load", ...row, figures: figures.join("; ") }));

  it(`${GOALS} goals created by ${CLIENTS} concurrent clients: each exactly once`, async () => {
    const { marker } = await scriptLlm("load", {
      turns: [
        { toolCalls: [{ name: "write_file", arguments: { path: "load/report.md", content: "# Load\n" } }] },
        { toolCalls: [{ name: "finish", arguments: { summary: "Done under load." } }] },
      ],
    });
    const failed: string[] = [];
    const t0 = Date.now();
    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, c) => {
        for (let i = 0; i < GOALS / CLIENTS; i++) {
          const n = c * (GOALS / CLIENTS) + i;
          const res = await sys.api("/goals", {
            body: { objective: `Load goal ${n} ${marker}`, ...(n % 2 ? { schedule: { cron: `${n % 60} 9 * * 1`, timezone: "Europe/Berlin" } } : {}) },
          });
          createMs.push(res.ms);
          if (res.status === 201) created.push(res.body.id);
          else failed.push(`${res.status} ${JSON.stringify(res.body).slice(0, 120)}`);
        }
      }),
    );
    const took = (Date.now() - t0) / 1000;
    // Every goal listed once: the API pages through exactly the goals that were created.
    const listed: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < GOALS / 100 + 2; page++) {
      const res: Res = await sys.api(`/goals?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      listed.push(...res.body.items.map((g: { id: string }) => g.id));
      cursor = res.body.nextCursor;
      if (!cursor) break;
    }
    const sorted = [...createMs].sort((a, b) => a - b);
    figures.push(`POST /goals ×${GOALS} by ${CLIENTS} clients in ${took.toFixed(0)} s: p50 ${ms(sorted, 50)}, p99 ${ms(sorted, 99)}`);
    const duplicates = listed.length - new Set(listed).size;
    row.trials += GOALS;
    row.passed += created.filter((id) => listed.includes(id)).length;
    row.lost += GOALS - created.length + created.filter((id) => !listed.includes(id)).length;
    row.duplicated += duplicates;
    expect(failed).toEqual([]);
    expect(new Set(listed)).toEqual(new Set(created));
    expect(duplicates).toBe(0);
  });

  it(`${RUNS} runs started at once: all complete, none duplicated, steps in order`, async () => {
    expect(created.length).toBe(GOALS);
    const goals = created.slice(0, RUNS);
    const t0 = Date.now();
    const started = await Promise.all(goals.map((id) => sys.api(`/goals/${id}/run`, { method: "POST" })));
    expect(started.map((r) => r.status)).toEqual(goals.map(() => 202));
    const runIds = started.map((r) => r.body.id as string);
    // Reads while the runs execute, as users watching them would make: 5 readers, each a run then its steps.
    const readMs: number[] = [];
    let running = true;
    const readers = Array.from({ length: 5 }, async (_, r) => {
      for (let i = r; running && i < 10_000; i += 5) {
        readMs.push((await sys.api(`/runs/${runIds[i % RUNS]}`)).ms, (await sys.api(`/runs/${runIds[i % RUNS]}/steps`)).ms);
      }
    });
    const deadline = Date.now() + 300_000;
    for (let i = 0; i < 600 && Date.now() < deadline; i++) {
      const list = await sys.api("/runs?limit=100");
      const ended = (list.body.items as { id: string; status: string }[]).filter((r) => runIds.includes(r.id) && ENDED.includes(r.status)).length;
      if (ended === RUNS) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    running = false;
    await Promise.all(readers);
    const took = (Date.now() - t0) / 1000;
    const problems: string[] = [];
    let completed = 0;
    let stuck = 0;
    let duplicated = 0;
    for (const [i, runId] of runIds.entries()) {
      const run = (await sys.api(`/runs/${runId}`)).body;
      const steps = await stepsOf(sys, runId);
      const runs = (await sys.api(`/runs?goalId=${goals[i]}`)).body.items.length;
      if (runs !== 1) duplicated++;
      if (!ENDED.includes(run.status)) stuck++;
      const ok = run.status === "completed" && contiguous(steps) && steps.map((s) => s.toolName).join() === "write_file,finish" && runs === 1;
      if (ok) completed++;
      else problems.push(`${runId}: ${run.status} ${run.error ?? ""} steps ${steps.map((s) => `${s.stepNo}:${s.toolName}`)} runs of its goal ${runs}`);
    }
    const files = await poll(
      async () => {
        const r = await sys.api(`/goals/${goals[0]}/files`);
        return r.body.items.length ? r.body.items : undefined;
      },
      { ms: 10_000, what: "a load run's file" },
    );
    const sorted = [...readMs].sort((a, b) => a - b);
    figures.push(`${RUNS} runs ended in ${took.toFixed(0)} s; reads meanwhile (${readMs.length}): p50 ${ms(sorted, 50)}, p99 ${ms(sorted, 99)}`);
    row.trials += RUNS;
    row.passed += completed;
    row.stuck += stuck;
    row.duplicated += duplicated;
    row.lost += RUNS - completed - stuck - duplicated;
    expect(problems).toEqual([]);
    expect(files.map((f: { path: string }) => f.path)).toEqual(["load/report.md"]);
  });
});
