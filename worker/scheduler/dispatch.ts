/**
 * Runs started now (by hand, or by a webhook delivery) take the scheduler's path: the same set-based insert (so the goal's overlap policy
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
import { handOver } from "../queue/consumer";
import { enqueueRuns } from "../queue/messages";

/** The new run, or why none was created (the API answers 404 or 409). */
export type ManualRun = { run: RunRow } | { refused: "goal_not_found" | "goal_archived" };

/** How a run started now came to be, and what it was given. */
export type RunRequest = { trigger: "manual"; input?: unknown } | { trigger: "webhook"; input: unknown; delivery: { id: string; event: string | null } };

/**
 * A manual run: a pending (or overlap-skipped) row, then a queue message; one D1 round trip when the
 * goal can run. The reaper re-enqueues the run should the send fail.
 *
 * The queue stays the durable hand-over, but a person who asked for a run now should not wait for the
 * queue's batch window (1 s here, and a queue's delivery latency on Cloudflare): the run is also handed
 * to its agent at once, after the response (`defer`, the request's waitUntil). Both paths end in the
 * agent's acceptRun, which starts a run id once (its fiber's idempotency key), so the second one to
 * arrive is a no-op and the run still executes exactly once; if the direct hand-over fails or is cut
 * off, the queue message delivers it as before.
 */
export async function startRunNow(
  env: Env,
  db: Db,
  goalId: string,
  req: RunRequest,
  now = Date.now(),
  defer?: (work: Promise<unknown>) => void,
): Promise<ManualRun> {
  const plan = {
    runId: newId("run", now),
    goalId,
    trigger: req.trigger,
    scheduledFor: null,
    skippedCount: 0,
    expectNextRunAt: null,
    nextRunAt: null,
    input: req.input === undefined || req.input === null ? null : JSON.stringify(req.input),
    deliveryId: req.trigger === "webhook" ? req.delivery.id : null,
    deliveryEvent: req.trigger === "webhook" ? req.delivery.event : null,
  };
  const [created] = await createRuns(env.DB, [plan], now, DEFAULT_STEP_BUDGET);
  if (!created) {
    // Nothing inserted: the goal does not exist or is archived (read only on this path, to say which);
    // for a webhook run also a paused goal or a delivery id already used (the caller looks that up).
    return { refused: (await getGoal(db, goalId)) ? "goal_archived" : "goal_not_found" };
  }
  if (created.status === "pending") {
    const message = { runId: created.id, goalId, overlap: created.overlap };
    defer?.(
      handOver(env, message, false).catch((e) =>
        console.warn(JSON.stringify({ at: "run-now.handover", runId: created.id, error: String(e), fallback: "queue" })),
      ),
    );
    // The run exists now: a failed send must not turn into an error answer, or a retry would start a second
    // run. The direct hand-over above may start it at once, and the reaper re-sends a pending run nobody took.
    await enqueueRuns(env.RUNS, [message]).catch((e) =>
      console.error(JSON.stringify({ at: "run-now.enqueue", runId: created.id, error: String(e), fallback: "reaper" })),
    );
  }
  return { run: runRow({ ...created, trigger: req.trigger, input: req.input, deliveryId: plan.deliveryId, deliveryEvent: plan.deliveryEvent }, now) };
}

/**
 * Hands a run whose wait was just settled (now `pending`) back to its agent: at once after the response
 * (`defer`), with the queue message as the durable path and the reaper behind it, as for a run started now.
 */
export async function resumeDecidedRun(env: Env, run: Pick<RunRow, "id" | "goalId">, defer?: (work: Promise<unknown>) => void): Promise<void> {
  const message = { runId: run.id, goalId: run.goalId };
  defer?.(
    handOver(env, message, false).catch((e) => console.warn(JSON.stringify({ at: "resume.handover", runId: run.id, error: String(e), fallback: "queue" }))),
  );
  await enqueueRuns(env.RUNS, [message]).catch((e) =>
    console.error(JSON.stringify({ at: "resume.enqueue", runId: run.id, error: String(e), fallback: "reaper" })),
  );
}
