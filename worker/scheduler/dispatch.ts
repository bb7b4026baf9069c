/**
 * Manual runs take the scheduler's path: the same set-based insert (so the goal's overlap policy
 * applies: with `skip`, a run asked for while another is active is recorded as `skipped` with the
 * reason), then the same queue.
 */
import { DEFAULT_STEP_BUDGET } from "../api/schemas";
import { notFound } from "../api/errors";
import type { Db, Env } from "../context";
import { getRun } from "../db/runs";
import type { GoalRow, RunRow } from "../db/schema";
import { createRuns } from "../db/scheduling";
import { newId } from "../lib/ids";
import { enqueueRuns } from "../queue/messages";

export const stepBudgetOf = (g: GoalRow) => g.params.stepBudget ?? DEFAULT_STEP_BUDGET;

/** A manual run: a pending (or overlap-skipped) row, then a queue message. The reaper re-enqueues it should the send fail. */
export async function startManualRun(env: Env, db: Db, goal: GoalRow, now = Date.now()): Promise<RunRow> {
  const plan = {
    runId: newId("run", now),
    goalId: goal.id,
    trigger: "manual" as const,
    scheduledFor: null,
    skippedCount: 0,
    expectNextRunAt: null,
    nextRunAt: null,
  };
  const [created] = await createRuns(env.DB, [plan], now, DEFAULT_STEP_BUDGET);
  if (!created) throw notFound("goal", goal.id); // deleted between the lookup and the insert
  if (created.status === "pending") await enqueueRuns(env.RUNS, [{ runId: created.id, goalId: goal.id, overlap: created.overlap }]);
  const run = await getRun(db, created.id);
  if (!run) throw notFound("run", created.id);
  return run;
}
