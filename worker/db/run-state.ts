/**
 * A run's status transitions: start (or resume), heartbeat, end, cancel, and the consumer's note of a
 * failed hand-over. Every update is guarded by status, so a finished run is never reopened.
 */
import { and, desc, eq, inArray, isNull, sql } from "drizzle-orm";
import { ACTIVE_RUN_STATUSES, type EndedRunStatus } from "../domain/vocabulary";
import { newId } from "../lib/ids";
import type { Db } from "./client";
import { type GoalRow, goals, type MemoryRow, memories, outputs, type RunRow, runs, type UsageMonthRow } from "./schema";
import { spendRows } from "./spend";

/** A run's running totals, written with each turn's steps; the usage fields are left as they are when absent. */
export type Totals = {
  stepsExecuted: number;
  promptTokens: number;
  completionTokens: number;
  cachedTokens?: number;
  reasoningTokens?: number;
  /** Nano-USD; null when the model's price is unknown. */
  costNanos?: number | null;
  model?: string;
};
/** How a run ends; `skipped`: it never called the model (a monthly budget was used up when it started). */
export type Ending = { status: EndedRunStatus | "skipped"; endReason: string; summary: string | null; error: string | null };

export type RunStart = {
  /** The run as marked running, or null when it could not start (see `before`). */
  run: RunRow | null;
  /** The run's status before this call (null: no such run). */
  before: RunRow["status"] | null;
  goal: GoalRow | null;
  /** The goal's newest memories, newest first (the prompt's digest of what earlier runs learned). */
  memories: MemoryRow[];
  /** The goal's and the instance's spending of the months around now (db/spend.ts), for the budget check. */
  spend: UsageMonthRow[];
};

/**
 * A run's start in ONE D1 round trip (a batch is one transaction): marks it running and reads what the
 * loop needs, its goal and the goal's recent memories. Under load every round trip queues behind the
 * others, so the start path pays for one, not four. A first start takes only a `pending` run; a resume
 * also takes a `running` one, and keeps its first started_at.
 */
export async function startRun(db: Db, runId: string, goalId: string, opts: { resume: boolean; memories: number }, now = Date.now()): Promise<RunStart> {
  const [before, updated, goal, recent, spend] = await db.batch([
    db.select({ status: runs.status }).from(runs).where(eq(runs.id, runId)),
    db
      .update(runs)
      .set({ status: "running", startedAt: sql`coalesce(${runs.startedAt}, ${now})`, heartbeatAt: now, updatedAt: now })
      .where(
        and(
          eq(runs.id, runId),
          eq(runs.goalId, goalId),
          // A first start takes only a run that never started: one that did (and lost its fiber ledger) must
          // not start over from step one, repeating its side effects.
          opts.resume ? inArray(runs.status, ["pending", "running"]) : and(eq(runs.status, "pending"), isNull(runs.startedAt)),
        ),
      )
      .returning(),
    db.select().from(goals).where(eq(goals.id, goalId)),
    db.select().from(memories).where(eq(memories.goalId, goalId)).orderBy(desc(memories.id)).limit(opts.memories),
    spendRows(db, goalId, now),
  ]);
  return { run: updated[0] ?? null, before: before[0]?.status ?? null, goal: goal[0] ?? null, memories: recent, spend };
}

export async function heartbeat(db: Db, runId: string, now = Date.now()): Promise<boolean> {
  const [r] = await db
    .update(runs)
    .set({ heartbeatAt: now })
    .where(and(eq(runs.id, runId), eq(runs.status, "running")))
    .returning({ cancelRequestedAt: runs.cancelRequestedAt });
  return !!r?.cancelRequestedAt;
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
      // A skipped run owes no notification (usage.budget_reached tells of the budget).
      notifiedAt:
        end.status === "skipped" ? now : sql`CASE WHEN (SELECT ${goals.webhookUrl} FROM ${goals} WHERE ${goals.id} = ${runs.goalId}) IS NULL THEN ${now} END`,
      ...(totals ?? {}),
      // A skipped run never ran: it has no start time (and so no place in GET /usage).
      ...(end.status === "skipped" ? { startedAt: null } : {}),
    })
    .where(and(eq(runs.id, runId), inArray(runs.status, ACTIVE_RUN_STATUSES)))
    .returning({ id: runs.id, notifiedAt: runs.notifiedAt });
  // Inserted only by the call that ended the run (ended_at is this call's), and at most once per run.
  const summary = db.insert(outputs).select(sql`
    SELECT ${newId("out", now)}, ${runId}, 'summary', NULL, ${JSON.stringify({ markdown: end.summary })}, ${now}
    WHERE EXISTS (SELECT 1 FROM runs WHERE id = ${runId} AND ended_at = ${now})
      AND NOT EXISTS (SELECT 1 FROM outputs WHERE run_id = ${runId} AND kind = 'summary')`);
  const [r] = end.summary ? (await db.batch([update, summary]))[0] : await update;
  return { ended: !!r, notify: !r || r.notifiedAt === null };
}

/**
 * Cancels a run no agent holds: a `pending` one (not started, or decided and not yet resumed) or a
 * `waiting` one (its fiber ended when it began to wait). A running one is the agent's to end.
 */
export async function cancelPending(db: Db, runId: string, now = Date.now()): Promise<boolean> {
  const [r] = await db
    .update(runs)
    .set({ status: "cancelled", endReason: "cancelled", cancelRequestedAt: now, endedAt: now, updatedAt: now })
    .where(and(eq(runs.id, runId), inArray(runs.status, ["pending", "waiting"])))
    .returning({ id: runs.id });
  return !!r;
}

/** Records the cancel request; the loop sees it at its next safe point, even after a restart. */
export async function requestCancel(db: Db, runId: string, now = Date.now()): Promise<void> {
  await db
    .update(runs)
    .set({ cancelRequestedAt: now, updatedAt: now })
    .where(and(eq(runs.id, runId), inArray(runs.status, ACTIVE_RUN_STATUSES)));
}

/** Keeps the last hand-over failure on a pending run, so the dead-letter branch can say what went wrong. */
export async function noteHandoverError(db: Db, runId: string, message: string, now = Date.now()): Promise<void> {
  await db
    .update(runs)
    .set({ error: `hand-over to the agent failed: ${message.slice(0, 500)}`, updatedAt: now })
    .where(and(eq(runs.id, runId), eq(runs.status, "pending")));
}
