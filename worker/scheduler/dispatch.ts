/**
 * Manual runs take the scheduler's path: the same set-based insert (so the goal's overlap policy
 * applies: with `skip`, a run asked for while another is active is recorded as `skipped` with the
 * reason), then the same queue.
 */
import { DEFAULT_STEP_BUDGET } from "../domain/vocabulary";
import type { Db } from "../db/client";
import type { Env } from "../lib/env";
import { getGoal } from "../db/goals";
import { runRow } from "../db/runs";
import type { RunRow } from "../db/schema";
import { createRuns } from "../db/scheduling";
import { newId } from "../lib/ids";
import { enqueueRuns } from "../queue/messages";

/** The new run, or why none was created (the API answers 404 or 409). */
export type ManualRun = { run: RunRow } | { refused: "goal_not_found" | "goal_archived" };

/**
 * A manual run: a pending (or overlap-skipped) row, then a queue message; one D1 round trip when the
 * goal can run. The reaper re-enqueues the run should the send fail.
 */
export async function startManualRun(env: Env, db: Db, goalId: string, now = Date.now()): Promise<ManualRun> {
  const plan = {
    runId: newId("run", now),
    goalId,
    trigger: "manual" as const,
    scheduledFor: null,
    skippedCount: 0,
    expectNextRunAt: null,
    nextRunAt: null,
  };
  const [created] = await createRuns(env.DB, [plan], now, DEFAULT_STEP_BUDGET);
  if (!created) {
    // Nothing inserted: the goal does not exist or is archived (read only on this path, to say which).
    return { refused: (await getGoal(db, goalId)) ? "goal_archived" : "goal_not_found" };
  }
  if (created.status === "pending") await enqueueRuns(env.RUNS, [{ runId: created.id, goalId, overlap: created.overlap }]);
  return { run: runRow({ ...created, trigger: "manual" }, now) };
}
