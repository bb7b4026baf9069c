/**
 * The agent's writes to D1. Steps are inserted with ON CONFLICT DO NOTHING on (run_id, step_no), so
 * replaying a checkpoint after an eviction never duplicates a step row. Run updates are guarded by
 * status so a finished run is never reopened.
 */
import { and, eq, inArray, sql } from "drizzle-orm";
import type { Db } from "../context";
import { insertOutput } from "../db/runs";
import { runs, steps, type RunRow, type StepRow } from "../db/schema";

/** Storage cap of one observation in D1 (the conversation sees less; read_more windows over this). */
export const STORED_OBSERVATION_MAX = 32_000;

export type Totals = { stepsExecuted: number; promptTokens: number; completionTokens: number };
export type Ending = { status: "completed" | "failed" | "cancelled"; endReason: string; summary: string | null; error: string | null };

/** pending|running → running; returns the row, or null when the run is over (or gone). */
export async function markRunning(db: Db, runId: string, now = Date.now()): Promise<RunRow | null> {
  // One statement on the run's start path: a resumed run keeps its first started_at.
  const [updated] = await db
    .update(runs)
    .set({ status: "running", startedAt: sql`coalesce(${runs.startedAt}, ${now})`, heartbeatAt: now, updatedAt: now })
    .where(and(eq(runs.id, runId), inArray(runs.status, ["pending", "running"])))
    .returning();
  return updated ?? null;
}

/**
 * Writes the steps of one turn and the run's totals in one D1 batch, and reads back whether a
 * cancel was requested (one round trip per turn: D1 latency dominates our per-step overhead).
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
  const [, updated] = await db.batch([db.insert(steps).values(rows).onConflictDoNothing(), update]);
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

/** Ends the run once: only a pending/running row changes. The summary becomes an output too. */
export async function endRun(db: Db, runId: string, end: Ending, totals: Totals | null, now = Date.now()): Promise<boolean> {
  const [r] = await db
    .update(runs)
    .set({
      status: end.status,
      endReason: end.endReason,
      summary: end.summary,
      error: end.error,
      endedAt: now,
      heartbeatAt: now,
      updatedAt: now,
      ...(totals ?? {}),
    })
    .where(and(eq(runs.id, runId), inArray(runs.status, ["pending", "running"])))
    .returning({ id: runs.id });
  if (r && end.summary) await insertOutput(db, { runId, kind: "summary", payload: { markdown: end.summary } }, now);
  return !!r;
}

export async function readStoredObservation(db: Db, runId: string, stepNo: number): Promise<string | null> {
  const r = await db.select({ o: steps.observation }).from(steps).where(and(eq(steps.runId, runId), eq(steps.stepNo, stepNo))).get();
  return r?.o ?? null;
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
