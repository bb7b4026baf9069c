/**
 * The reaper, run at the start of every cron tick: no run stays `running` or `pending` forever.
 *
 * - A `running` run whose agent has not written heartbeat_at (nor anything else) for
 *   RUN_HEARTBEAT_TIMEOUT_SECONDS is re-enqueued: the consumer hands it to its goal's agent, which
 *   resumes it from its checkpoint when no fiber is alive (and ignores it when one is).
 * - A `pending` run nobody picked up (its queue message was lost, e.g. a failed send after the
 *   commit) is re-enqueued the same way.
 * - After MAX_ATTEMPTS enqueues, or when the run is older than MAX_AGE, it is failed with the reason.
 *
 * The attempt count lives in runs.attempts so it survives isolates and restarts.
 */
import type { Env } from "../lib/env";
import { reapStaleRuns as reapQuery, type ReaperPolicy } from "../db/scheduling";
import { notifyRunEnded } from "../notify/run-ended";
import { enqueueRuns } from "../queue/messages";

export const DEFAULT_HEARTBEAT_TIMEOUT_SECONDS = 600;
/** Dispatch is attempt 1; the reaper re-enqueues twice more before giving up. */
export const MAX_ATTEMPTS = 3;
export const MAX_AGE_MS = 24 * 3600_000;
/**
 * Runs handled per tick, each way: at most 2 x 100 rows touched, 1 queue send (sendBatch takes 100
 * messages) and 100 webhook notifications, which keeps the reaper's share of the tick's subrequests
 * small (50 Free / 10,000 Paid per invocation).
 */
export const REAP_LIMIT = 100;

export type ReapStats = { requeued: number; failed: number; queries: number };

export function reaperPolicyFrom(env: Env): ReaperPolicy {
  const seconds = Number(env.RUN_HEARTBEAT_TIMEOUT_SECONDS);
  const staleMs = (Number.isFinite(seconds) && seconds > 0 ? seconds : DEFAULT_HEARTBEAT_TIMEOUT_SECONDS) * 1000;
  return { runningStaleMs: staleMs, pendingStaleMs: staleMs, maxAttempts: MAX_ATTEMPTS, maxAgeMs: MAX_AGE_MS, limit: REAP_LIMIT };
}

export async function reapStaleRuns(env: Env, now: number, policy: ReaperPolicy): Promise<ReapStats> {
  const { failed, requeued } = await reapQuery(env.DB, now, policy);
  // The rows are committed first: a lost send leaves the run stale again, and the next tick retries.
  await enqueueRuns(
    env.RUNS,
    requeued.map((r) => ({ runId: r.id, goalId: r.goalId })),
  );
  // A failed run owes its completion webhook (run.failed), delivered at most once per run.
  const sent = await Promise.allSettled(failed.map((r) => notifyRunEnded(env, r.id)));
  for (const s of sent) if (s.status === "rejected") console.error(JSON.stringify({ msg: "reaper.notify_failed", error: String(s.reason) }));
  return { requeued: requeued.length, failed: failed.length, queries: 2 };
}
