/** Goal queries. Functions take the drizzle client first. */
import { and, desc, eq, inArray, lt, sql } from "drizzle-orm";
import type { GoalParams, Schedule } from "../domain/schemas";
import type { GoalStatus } from "../domain/vocabulary";
import { type Db, placeholders, prepared } from "./client";
import { newId } from "../lib/ids";
import { nextFireTime } from "../domain/next-fire";
import { pageOf } from "./page";
import { goals, goalTriggers, memories, outputs, runs, steps, type GoalRow } from "./schema";

/** A goal to create, as the API validated it. */
export type NewGoal = { objective: string; schedule?: Schedule; webhookUrl?: string; params?: GoalParams };
/** A change to a goal: a field left undefined stays; `schedule: null` and `webhookUrl: null` remove them. */
export type GoalPatch = {
  objective?: string;
  schedule?: Schedule | null;
  webhookUrl?: string | null;
  params?: GoalParams;
  status?: GoalStatus;
};

/** next_run_at for a goal: the next fire strictly after `now`, or null when it is unscheduled or not active. */
export function computeNextRunAt(g: { status: GoalStatus; cron: string | null; timezone: string }, now: Date): number | null {
  if (g.status !== "active" || !g.cron) return null;
  return nextFireTime(g.cron, g.timezone, now)?.getTime() ?? null;
}

export async function insertGoal(db: Db, input: NewGoal, now = new Date()): Promise<GoalRow> {
  const cron = input.schedule?.cron ?? null;
  const timezone = input.schedule?.timezone ?? "UTC";
  const row = {
    id: newId("goal", now.getTime()),
    objective: input.objective,
    status: "active" as const,
    cron,
    timezone,
    nextRunAt: computeNextRunAt({ status: "active", cron, timezone }, now),
    webhookUrl: input.webhookUrl ?? null,
    params: (input.params ?? {}) satisfies GoalParams,
    createdAt: now.getTime(),
    updatedAt: now.getTime(),
  };
  await prepared(db, "goals.insert", () => db.insert(goals).values(placeholders(row)).prepare()).run(row);
  return row;
}

export async function getGoal(db: Db, id: string): Promise<GoalRow | undefined> {
  return prepared(db, "goals.get", () =>
    db
      .select()
      .from(goals)
      .where(eq(goals.id, sql.placeholder("id")))
      .prepare(),
  ).get({ id });
}

type GoalListQuery = { status?: GoalStatus; limit: number; cursor?: string };

/**
 * The list query of one shape (which filters it has), with placeholders `status`, `cursor` and `limit`;
 * a test checks each shape's plan uses an index.
 */
export function goalListQuery(db: Db, shape: { status: boolean; cursor: boolean }) {
  return db
    .select()
    .from(goals)
    .where(and(shape.status ? eq(goals.status, sql.placeholder("status")) : undefined, shape.cursor ? lt(goals.id, sql.placeholder("cursor")) : undefined))
    .orderBy(desc(goals.id))
    .limit(sql.placeholder("limit"));
}

export async function listGoals(db: Db, q: GoalListQuery): Promise<{ items: GoalRow[]; nextCursor: string | null }> {
  const shape = { status: !!q.status, cursor: !!q.cursor };
  const query = prepared(db, `goals.list.${shape.status}.${shape.cursor}`, () => goalListQuery(db, shape).prepare());
  return pageOf(await query.all({ status: q.status, cursor: q.cursor, limit: q.limit + 1 }), q.limit);
}

/**
 * Applies a PATCH. Changing the schedule or the status recomputes next_run_at from `now`, so a
 * resumed goal does not burst through the fire times it missed while paused.
 */
export async function updateGoal(db: Db, current: GoalRow, patch: GoalPatch, now = new Date()): Promise<GoalRow> {
  const next: GoalRow = { ...current, updatedAt: now.getTime() };
  if (patch.objective !== undefined) next.objective = patch.objective;
  if (patch.webhookUrl !== undefined) next.webhookUrl = patch.webhookUrl;
  if (patch.params !== undefined) next.params = patch.params;
  if (patch.status !== undefined) next.status = patch.status;
  if (patch.schedule !== undefined) {
    next.cron = patch.schedule?.cron ?? null;
    next.timezone = patch.schedule?.timezone ?? "UTC";
  }
  const rescheduled = next.cron !== current.cron || next.timezone !== current.timezone || next.status !== current.status;
  if (rescheduled) next.nextRunAt = computeNextRunAt(next, now);
  await db
    .update(goals)
    .set({
      objective: next.objective,
      webhookUrl: next.webhookUrl,
      params: next.params,
      status: next.status,
      cron: next.cron,
      timezone: next.timezone,
      nextRunAt: next.nextRunAt,
      updatedAt: next.updatedAt,
    })
    .where(eq(goals.id, current.id));
  return next;
}

/** Deletes a goal with its runs, steps, outputs and memories in one D1 batch (one transaction). */
export async function deleteGoalRows(db: Db, id: string): Promise<void> {
  const runIds = db.select({ id: runs.id }).from(runs).where(eq(runs.goalId, id));
  await db.batch([
    db.delete(steps).where(inArray(steps.runId, runIds)),
    db.delete(outputs).where(inArray(outputs.runId, runIds)),
    db.delete(runs).where(eq(runs.goalId, id)),
    db.delete(memories).where(eq(memories.goalId, id)),
    db.delete(goalTriggers).where(eq(goalTriggers.goalId, id)),
    db.delete(goals).where(eq(goals.id, id)),
  ]);
}

/** Counts goals by status, for readiness and status displays. */
export async function countGoals(db: Db): Promise<Record<string, number>> {
  const rows = await db.select({ status: goals.status, n: sql<number>`count(*)` }).from(goals).groupBy(goals.status);
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}
