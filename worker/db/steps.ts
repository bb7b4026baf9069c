/**
 * Step rows. Steps are inserted with ON CONFLICT DO NOTHING on (run_id, step_no), so replaying a
 * checkpoint after an eviction never duplicates a step row.
 */
import { and, asc, eq, getTableColumns, gt, inArray, isNull, notLike, or } from "drizzle-orm";
import { inChunks } from "../lib/chunks";
import { D1_MAX_BOUND_PARAMS, type Db } from "./client";
import type { Totals } from "./run-state";
import { addSpend, monthsAt, type Spent } from "./spend";
import { type OutputRow, outputs, runs, type StepRow, steps } from "./schema";

/** Storage cap of one observation in D1 (the conversation sees less; read_more windows over this). */
export const STORED_OBSERVATION_MAX = 32_000;

/** A row binds one parameter per column: this many rows fit in one INSERT under D1's limit (7 steps, 16 outputs). */
const rowsPerInsert = (table: typeof steps | typeof outputs) => Math.floor(D1_MAX_BOUND_PARAMS / Object.keys(getTableColumns(table)).length);
const STEP_ROWS_PER_INSERT = rowsPerInsert(steps);
const OUTPUT_ROWS_PER_INSERT = rowsPerInsert(outputs);

/**
 * Writes steps (one turn's, or several turns' grouped by the StepWriter), the output rows their calls
 * left, and the run's totals in one D1 batch, and reads back whether a cancel was requested. Rows go in
 * as several INSERTs of at most STEP_ROWS_PER_INSERT / OUTPUT_ROWS_PER_INSERT rows, all in the same batch
 * (one transaction), so the steps are recorded whole or not at all; outputs are keyed by id, so a replay
 * adds nothing. With `goal`, the same batch adds the run's new spending to the goal's and the instance's
 * month (db/spend.ts) and returns both months' totals.
 */
export async function recordSteps(
  db: Db,
  runId: string,
  rows: StepRow[],
  totals: Totals,
  now = Date.now(),
  goal?: { id: string; timezone: string },
  outputRows: OutputRow[] = [],
): Promise<{ cancelRequested: boolean; spent?: { goal: Spent; global: Spent } }> {
  const update = db
    .update(runs)
    .set({ ...totals, heartbeatAt: now, updatedAt: now })
    .where(and(eq(runs.id, runId), eq(runs.status, "running")))
    .returning({ cancelRequestedAt: runs.cancelRequestedAt });
  // Before the update: the increase is measured against the totals stored so far.
  const spend = goal ? addSpend(db, runId, goal.id, monthsAt(now, goal.timezone), totals) : [];
  const inserts = [
    ...inChunks(rows, STEP_ROWS_PER_INSERT).map((chunk) => db.insert(steps).values(chunk).onConflictDoNothing()),
    ...inChunks(outputRows, OUTPUT_ROWS_PER_INSERT).map((chunk) => db.insert(outputs).values(chunk).onConflictDoNothing()),
  ];
  const results = await db.batch([...spend, update, ...inserts] as unknown as Parameters<typeof db.batch>[0]);
  const [g, all] = results.slice(0, spend.length) as Spent[][];
  const updated = results[spend.length] as { cancelRequestedAt: number | null }[];
  // No row back: the run is no longer `running` (cancelled or ended elsewhere): stop like a cancel.
  return { cancelRequested: !updated[0] || !!updated[0].cancelRequestedAt, ...(g?.[0] && all?.[0] ? { spent: { goal: g[0], global: all[0] } } : {}) };
}

export async function readStoredObservation(db: Db, runId: string, stepNo: number): Promise<string | null> {
  const r = await db
    .select({ o: steps.observation })
    .from(steps)
    .where(and(eq(steps.runId, runId), eq(steps.stepNo, stepNo)))
    .get();
  return r?.o ?? null;
}

/**
 * The stored results of a run's successful calls of `tools` (the ones whose results show links), so a
 * resumed run knows again which URLs it was shown. `tools` is a short fixed list: a handful of parameters.
 */
export async function linkSourceSteps(db: Db, runId: string, tools: string[]): Promise<{ toolName: string; observation: string }[]> {
  if (!tools.length) return [];
  const rows = await db
    .select({ toolName: steps.toolName, observation: steps.observation })
    .from(steps)
    // A failed call's observation is "Error: …" (agent/tool-calls.ts). `error` alone does not say: a turn's first
    // row also carries the model's warning there (e.g. a truncated prompt) while its call succeeded.
    .where(and(eq(steps.runId, runId), inArray(steps.toolName, tools), or(isNull(steps.error), notLike(steps.observation, "Error: %"))));
  return rows.flatMap((r) => (r.toolName && r.observation ? [{ toolName: r.toolName, observation: r.observation }] : []));
}

/** Steps in order; the cursor is the last step number seen. */
export async function listSteps(db: Db, runId: string, q: { afterStep?: number; limit: number }): Promise<{ items: StepRow[]; nextCursor: string | null }> {
  const rows = await db
    .select()
    .from(steps)
    .where(and(eq(steps.runId, runId), q.afterStep !== undefined ? gt(steps.stepNo, q.afterStep) : undefined))
    .orderBy(asc(steps.stepNo))
    .limit(q.limit + 1);
  const items = rows.slice(0, q.limit);
  return { items, nextCursor: rows.length > q.limit ? String(items.at(-1)?.stepNo) : null };
}
