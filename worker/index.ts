/** Wiring only: the API, the cron tick, the run queue consumer and the goal agent class. */
import { app } from "./api/app";
import type { Env } from "./lib/env";
import type { RunMessage } from "./queue/messages";
import { consumeRuns } from "./queue/consumer";
import { dispatchDueGoals } from "./scheduler/scheduled";

export { GoalAgent } from "./agent/goal-agent";

export default {
  fetch: app.fetch,
  scheduled: (ctrl, env, ctx) => ctx.waitUntil(dispatchDueGoals(env, new Date(ctrl.scheduledTime))),
  queue: consumeRuns,
} satisfies ExportedHandler<Env, RunMessage>;
