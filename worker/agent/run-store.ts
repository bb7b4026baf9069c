/**
 * The agent's writes to D1. Steps are inserted with ON CONFLICT DO NOTHING on (run_id, step_no), so
 * replaying a checkpoint after an eviction never duplicates a step row. Run updates are guarded by
 * status so a finished run is never reopened.
 */
import { and, desc, eq, getTableColumns, inArray, isNull, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { D1_MAX_BOUND_PARAMS } from "../db/client";
import { goals, memories, outputs, runs, steps, type GoalRow, type MemoryRow, type RunRow, type StepRow } from "../db/schema";
import { newId } from "../lib/ids";

/** Storage cap of one observation in D1 (the conversation sees less; read_more windows over this). */
export const STORED_OBSERVATION_MAX = 32_000;

export type Totals = { stepsExecuted: number; promptTokens: number; completionTokens: number };
export type Ending = { status: "completed" | "failed" | "cancelled"; endReason: string; summary: string | null; error: string | null };

export type RunStart = {
  /** The run as marked running, or null when it could not start (see `before`). */
  run: RunRow | null;
  /** The run's status before this call (null: no such run). */
  before: RunRow["status"] | null;
  goal: GoalRow | null;
  /** The goal's newest memories, newest first (the prompt's digest of what earlier runs learned). */
  memories: MemoryRow[];
};

/**
 * A run's start in ONE D1 round trip (a batch is one transaction): marks it running and reads what the
 * loop needs, its goal and the goal's recent memories. Under load every round trip queues behind the
 * others, so the start path pays for one, not four. A first start takes only a `pending` run; a resume
 * also takes a `running` one, and keeps its first started_at.
 */
export async function startRun(db: Db, runId: string, goalId: string, opts: { resume: boolean; memories: number }, now = Date.now()): Promise<RunStart> {
  const [before, updated, goal, recent] = await db.batch([
    db.select({ status: runs.status }).from(runs).where(eq(runs.id, runId)),
    db
      .update(runs)
      .set({ status: "running", startedAt: sql`coalesce(${runs.startedAt}, ${now})`, heartbeatAt: now, updatedAt: now })
      .where(and(eq(runs.id, runId), eq(runs.goalId, goalId), inArray(runs.status, opts.resume ? ["pending", "running"] : ["pending"])))
      .returning(),
    db.select().from(goals).where(eq(goals.id, goalId)),
    db.select().from(memories).where(eq(memories.goalId, goalId)).orderBy(desc(memories.id)).limit(opts.memories),
  ]);
  return { run: updated[0] ?? null, before: before[0]?.status ?? null, goal: goal[0] ?? null, memories: recent };
}

/** A steps row binds one parameter per column: this many rows fit in one INSERT under D1's limit (9). */
const STEP_ROWS_PER_INSERT = Math.floor(D1_MAX_BOUND_PARAMS / Object.keys(getTableColumns(steps)).length);

/**
 * Writes the steps of one turn and the run's totals in one D1 batch, and reads back whether a
 * cancel was requested (one round trip per turn: D1 latency dominates our per-step overhead). A turn
 * may have any number of parallel tool calls: its rows go in as several INSERTs of at most
 * STEP_ROWS_PER_INSERT rows, all in the same batch (one transaction), so a turn is recorded whole or not at all.
 */
export async function recordSteps(db: Db, runId: string, rows: StepRow[], totals: Totals, now = Date.now()): Promise<{ cancelRequested: boolean }> {
  const update = db
    .update(runs)
    .set({ ...totals, heartbeatAt: now, updatedAt: now })
    .where(and(eq(runs.id, runId), eq(runs.status, "running")))
    .returning({ cancelRequestedAt: runs.cancelRequestedAt });
  if (!rows.length) {
    const [r] = await update;
    return { cancelRequested: !r || !!r.cancelRequestedAt };
  }
  const inserts = [];
  for (let i = 0; i < rows.length; i += STEP_ROWS_PER_INSERT)
    inserts.push(
      db
        .insert(steps)
        .values(rows.slice(i, i + STEP_ROWS_PER_INSERT))
        .onConflictDoNothing(),
    );
  const [updated] = await db.batch([update, ...inserts]);
  // No row back: the run is no longer `running` (cancelled or ended elsewhere): stop like a cancel.
  return { cancelRequested: !updated[0] || !!updated[0].cancelRequestedAt };
}

export async function heartbeat(db: Db, runId: string, now = Date.now()): Promise<boolean> {
  const [r] = await db
    .update(runs)
    .set({ heartbeatAt: now })
    .where(and(eq(runs.id, runId), eq(runs.status, "running")))
    .returning({ cancelRequestedAt: runs.cancelRequestedAt });
  return !!r?.cancelRequestedAt;
}

export async function cancelRequested(db: Db, runId: string): Promise<boolean> {
  const r = await db.select({ at: runs.cancelRequestedAt }).from(runs).where(eq(runs.id, runId)).get();
  return !!r?.at;
}

/**
 * Ends the run once: only a pending/running row changes. The summary becomes an output in the same
 * batch (at most one per run). A goal without a webhook has nothing to notify, so the same statement
 * settles the notification; `notify` says whether the caller must still call notifyRunEnded.
 */
export async function endRun(db: Db, runId: string, end: Ending, totals: Totals | null, now = Date.now()): Promise<{ ended: boolean; notify: boolean }> {
  const update = db
    .update(runs)
    .set({
      status: end.status,
      endReason: end.endReason,
      summary: end.summary,
      error: end.error,
      endedAt: now,
      heartbeatAt: now,
      updatedAt: now,
      notifiedAt: sql`CASE WHEN (SELECT ${goals.webhookUrl} FROM ${goals} WHERE ${goals.id} = ${runs.goalId}) IS NULL THEN ${now} END`,
      ...(totals ?? {}),
    })
    .where(and(eq(runs.id, runId), inArray(runs.status, ["pending", "running"])))
    .returning({ id: runs.id, notifiedAt: runs.notifiedAt });
  // Inserted only by the call that ended the run (ended_at is this call's), and at most once per run.
  const summary = db.insert(outputs).select(sql`
    SELECT ${newId("out", now)}, ${runId}, 'summary', NULL, ${JSON.stringify({ markdown: end.summary })}, ${now}
    WHERE EXISTS (SELECT 1 FROM runs WHERE id = ${runId} AND ended_at = ${now})
      AND NOT EXISTS (SELECT 1 FROM outputs WHERE run_id = ${runId} AND kind = 'summary')`);
  const [r] = end.summary ? (await db.batch([update, summary]))[0] : await update;
  return { ended: !!r, notify: !r || r.notifiedAt === null };
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
    .where(and(eq(steps.runId, runId), isNull(steps.error), inArray(steps.toolName, tools)));
  return rows.flatMap((r) => (r.toolName && r.observation ? [{ toolName: r.toolName, observation: r.observation }] : []));
}

/** Cancels a run that has not started: only a `pending` row changes (a started one is the agent's to end). */
export async function cancelPending(db: Db, runId: string, now = Date.now()): Promise<boolean> {
  const [r] = await db
    .update(runs)
    .set({ status: "cancelled", endReason: "cancelled", cancelRequestedAt: now, endedAt: now, updatedAt: now })
    .where(and(eq(runs.id, runId), eq(runs.status, "pending")))
    .returning({ id: runs.id });
  return !!r;
}

/** Records the cancel request; the loop sees it at its next safe point, even after a restart. */
export async function requestCancel(db: Db, runId: string, now = Date.now()): Promise<void> {
  await db
    .update(runs)
    .set({ cancelRequestedAt: now, updatedAt: now })
    .where(and(eq(runs.id, runId), inArray(runs.status, ["pending", "running"])));
}
