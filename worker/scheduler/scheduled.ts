/** The cron tick: select due goals, create their runs, enqueue them. It never calls a model. */
import type { Env } from "../context";

export async function dispatchDueGoals(_env: Env, _now: Date): Promise<void> {}
