/** Creating runs and handing them to the RUNS queue. */
import { DEFAULT_STEP_BUDGET } from "../api/schemas";
import type { Db, Env } from "../context";
import { insertRun } from "../db/runs";
import type { GoalRow, RunRow } from "../db/schema";
import { enqueueRuns } from "../queue/messages";

export const stepBudgetOf = (g: GoalRow) => g.params.stepBudget ?? DEFAULT_STEP_BUDGET;

/** A manual run: a pending row, then a queue message. The reaper re-enqueues it should the send fail. */
export async function startManualRun(env: Env, db: Db, goal: GoalRow): Promise<RunRow> {
  const run = await insertRun(db, { goalId: goal.id, trigger: "manual", stepBudget: stepBudgetOf(goal) });
  await enqueueRuns(env.RUNS, [{ runId: run.id, goalId: goal.id }]);
  return run;
}
