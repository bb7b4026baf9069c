/** Overlap policy: what happens when a goal's fire time comes while one of its runs is still going. */
import { and, eq, inArray, lt, ne } from "drizzle-orm";
import type { Db } from "../context";
import { runs, type GoalRow } from "../db/schema";

export type Overlap = NonNullable<GoalRow["params"]["overlap"]>;
export const overlapOf = (g: GoalRow): Overlap => g.params.overlap ?? "skip";

/**
 * The id of another unfinished run of the goal, if any. `earlierThan` keeps only runs created
 * before that run (run ids are time-ordered), which makes `queue` first-in, first-out.
 */
export async function activeRunOf(db: Db, goalId: string, opts: { except?: string; earlierThan?: string; includePending: boolean }): Promise<string | null> {
  const statuses = opts.includePending ? (["running", "pending"] as const) : (["running"] as const);
  const row = await db
    .select({ id: runs.id })
    .from(runs)
    .where(
      and(
        eq(runs.goalId, goalId),
        inArray(runs.status, [...statuses]),
        opts.except ? ne(runs.id, opts.except) : undefined,
        opts.earlierThan ? lt(runs.id, opts.earlierThan) : undefined,
      ),
    )
    .limit(1)
    .get();
  return row?.id ?? null;
}

/**
 * With overlap "queue", a run waits (the consumer retries its message later) while an earlier run
 * of the goal is pending or running, so queued runs start one at a time, in fire-time order. A
 * stuck earlier run cannot block the queue for ever: the reaper re-enqueues or fails it.
 */
export async function mustWaitForPrevious(db: Db, goal: GoalRow, runId: string): Promise<boolean> {
  return overlapOf(goal) === "queue" && (await activeRunOf(db, goal.id, { earlierThan: runId, includePending: true })) !== null;
}
