/**
 * What the CLI runs from the Worker's own code: the request schemas (zod) and the cron preview
 * (croner). They are most of the bundle's weight, so commands load them only when they validate
 * input: `await import("./validation")` (the build inlines this module as a data: URL).
 */
export { CreateGoal, UpdateGoal } from "../../worker/api/schemas";
export { formatLocal, nextFireTimes } from "../../worker/domain/next-fire";
