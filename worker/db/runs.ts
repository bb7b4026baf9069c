/** Run rows and their outputs: create, read, list, delete. Functions take the drizzle client first. */
import { and, asc, desc, eq, getTableColumns, inArray, lt } from "drizzle-orm";
import { ACTIVE_RUN_STATUSES, isTerminal, type RunStatus } from "../domain/vocabulary";
import type { Db } from "./client";
import { newId } from "../lib/ids";
import { pageOf } from "./page";
import { type OutputRow, outputs, type RunPlan, type RunRow, runs, steps } from "./schema";

export type NewRun = {
  /** Set when the row was inserted elsewhere (createRuns) and is rebuilt from what it returned. */
  id?: string;
  attempts?: number;
  goalId: string;
  trigger: RunRow["trigger"];
  stepBudget: number;
  scheduledFor?: number | null;
  status?: RunStatus;
  skippedCount?: number;
  error?: string | null;
  endReason?: string | null;
  input?: unknown;
  deliveryId?: string | null;
  deliveryEvent?: string | null;
};

export function runRow(r: NewRun, now = Date.now()): RunRow {
  const terminal = r.status !== undefined && isTerminal(r.status);
  return {
    id: r.id ?? newId("run", now),
    goalId: r.goalId,
    status: r.status ?? "pending",
    trigger: r.trigger,
    scheduledFor: r.scheduledFor ?? null,
    startedAt: null,
    endedAt: terminal ? now : null,
    heartbeatAt: null,
    cancelRequestedAt: null,
    notifyClaimedAt: null,
    notifiedAt: null,
    stepsExecuted: 0,
    stepBudget: r.stepBudget,
    promptTokens: 0,
    completionTokens: 0,
    cachedTokens: 0,
    reasoningTokens: 0,
    costNanos: 0,
    model: null,
    summary: null,
    error: r.error ?? null,
    endReason: r.endReason ?? null,
    skippedCount: r.skippedCount ?? 0,
    input: r.input ?? null,
    deliveryId: r.deliveryId ?? null,
    deliveryEvent: r.deliveryEvent ?? null,
    attempts: r.attempts ?? 0,
    plan: null,
    createdAt: now,
    updatedAt: now,
  };
}

export async function insertRun(db: Db, r: NewRun, now = Date.now()): Promise<RunRow> {
  const row = runRow(r, now);
  await db.insert(runs).values(row);
  return row;
}

/** Stores the run's latest plan while the run is running (the update_plan tool). */
export async function setRunPlan(db: Db, runId: string, plan: RunPlan, now = Date.now()): Promise<void> {
  await db
    .update(runs)
    .set({ plan, updatedAt: now })
    .where(and(eq(runs.id, runId), eq(runs.status, "running")));
}

export async function getRun(db: Db, id: string): Promise<RunRow | undefined> {
  return db.select().from(runs).where(eq(runs.id, id)).get();
}

/** A listed run: every column but the input (up to 256 KB each; one run's GET shows it). */
export type ListedRun = Omit<RunRow, "input">;
const { input: _input, ...listColumns } = getTableColumns(runs);

type RunListQuery = { goalId?: string; status?: RunStatus; trigger?: RunRow["trigger"]; limit: number; cursor?: string };

/** The list query itself (a test checks its plan uses an index). */
export function runListQuery(db: Db, q: RunListQuery) {
  return db
    .select(listColumns)
    .from(runs)
    .where(
      and(
        q.goalId ? eq(runs.goalId, q.goalId) : undefined,
        q.status ? eq(runs.status, q.status) : undefined,
        q.trigger ? eq(runs.trigger, q.trigger) : undefined,
        q.cursor ? lt(runs.id, q.cursor) : undefined,
      ),
    )
    .orderBy(desc(runs.id))
    .limit(q.limit + 1);
}

export async function listRuns(db: Db, q: RunListQuery): Promise<{ items: ListedRun[]; nextCursor: string | null }> {
  return pageOf(await runListQuery(db, q), q.limit);
}

export async function listOutputs(db: Db, runId: string): Promise<OutputRow[]> {
  return db.select().from(outputs).where(eq(outputs.runId, runId)).orderBy(asc(outputs.id));
}

type NewOutput = { runId: string; kind: OutputRow["kind"]; path?: string | null; payload?: unknown };

/** An output row, made now: inserted at once (insertOutput) or handed to the run's step writer (a journaled tool). */
export function outputRow(o: NewOutput, now = Date.now()): OutputRow {
  return { id: newId("out", now), runId: o.runId, kind: o.kind, path: o.path ?? null, payload: o.payload ?? null, createdAt: now };
}

export async function insertOutput(db: Db, o: NewOutput, now = Date.now()): Promise<OutputRow> {
  const row = outputRow(o, now);
  await db.insert(outputs).values(row);
  return row;
}

export async function deleteRunRows(db: Db, id: string): Promise<void> {
  await db.batch([db.delete(steps).where(eq(steps.runId, id)), db.delete(outputs).where(eq(outputs.runId, id)), db.delete(runs).where(eq(runs.id, id))]);
}

/**
 * The id of an unfinished run of the goal created before `runId` (run ids are time-ordered), if any: with
 * overlap `queue`, a run waits while one exists, so queued runs start one at a time, first in, first out.
 */
export async function earlierActiveRunOf(db: Db, goalId: string, runId: string): Promise<string | null> {
  const row = await db
    .select({ id: runs.id })
    .from(runs)
    .where(and(eq(runs.goalId, goalId), inArray(runs.status, ACTIVE_RUN_STATUSES), lt(runs.id, runId)))
    .limit(1)
    .get();
  return row?.id ?? null;
}

/** The pending and running runs of a goal (what deleting the goal must cancel first). */
export async function activeRunsOf(db: Db, goalId: string): Promise<Pick<RunRow, "id" | "goalId">[]> {
  return db
    .select({ id: runs.id, goalId: runs.goalId })
    .from(runs)
    .where(and(eq(runs.goalId, goalId), inArray(runs.status, ACTIVE_RUN_STATUSES)));
}
