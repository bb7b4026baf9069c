/**
 * Set-based scheduler queries: selecting due goals, creating their runs, advancing next_run_at and
 * reaping stale runs. Many rows travel as ONE JSON parameter expanded with `json_each`, because D1
 * allows ~100 bound parameters per statement; a page of 1,000 goals therefore costs the same three
 * queries as a page of one (D1 counts queries per Worker invocation: 50 Free / 1,000 Paid).
 *
 * These functions take the D1 binding itself, not the drizzle client: drizzle's D1 `batch()` cannot
 * carry raw parameterised SQL, and each page's INSERT + UPDATE must commit together in one batch.
 */
import { ACTIVE_RUN_STATUSES, DEFAULT_OVERLAP, type Overlap, type Trigger } from "../domain/vocabulary";
import { sqlList } from "./sql";

/** The unfinished statuses as SQL text (the runs_active partial index has the same condition). */
const ACTIVE = sqlList(ACTIVE_RUN_STATUSES);

/** An active goal whose next fire time has come. */
export type DueGoal = { id: string; cron: string | null; timezone: string; nextRunAt: number };

/** A run to create. Scheduled runs carry the next_run_at they were planned from (an optimistic guard). */
export type RunPlan = {
  runId: string;
  goalId: string;
  trigger: Trigger;
  /** The fire time; null for a manual run (NULLs never collide in the unique index). */
  scheduledFor: number | null;
  skippedCount: number;
  /** Scheduled runs: the goal's next_run_at when it was read; the run is created only if it is unchanged. */
  expectNextRunAt: number | null;
  /** Scheduled runs: the goal's new next_run_at (null when the cron never fires again). */
  nextRunAt: number | null;
  /** The run's input serialised as JSON (runs.input), or null. */
  input?: string | null;
  /** A webhook delivery's id (unique per goal) and event name. */
  deliveryId?: string | null;
  deliveryEvent?: string | null;
};

/**
 * A created run: what differs between runs (a manual run is presented from this without reading it
 * back), and its goal's overlap policy (the queue message carries it; see queue/consumer.ts).
 */
export type CreatedRun = {
  id: string;
  goalId: string;
  status: "pending" | "skipped";
  stepBudget: number;
  error: string | null;
  endReason: string | null;
  attempts: number;
  overlap: Overlap;
};

/**
 * Due goals, oldest fire time first. `INDEXED BY goals_due` (a partial index on next_run_at of active,
 * scheduled goals) makes the cost grow with the number of due goals, not with all goals: left to
 * itself, without ANALYZE statistics SQLite picks the status index, scans every active goal and sorts.
 */
export async function selectDueGoals(d1: D1Database, now: number, limit: number): Promise<DueGoal[]> {
  const { results } = await d1
    .prepare(
      `SELECT id, cron, timezone, next_run_at AS nextRunAt FROM goals INDEXED BY goals_due
       WHERE status = 'active' AND next_run_at IS NOT NULL AND next_run_at <= ?1
       ORDER BY next_run_at LIMIT ?2`,
    )
    .bind(now, limit)
    .all<DueGoal>();
  return results;
}

/**
 * Creates the planned runs and advances the goals' next_run_at in one D1 batch (one transaction),
 * so a crash cannot leave a run without its goal advanced or the reverse. `ON CONFLICT DO NOTHING`
 * on runs(goal_id, scheduled_for) makes a duplicate tick harmless, and on runs(goal_id, delivery_id)
 * a redelivered webhook; RETURNING lists only the rows this call inserted, so only those get enqueued.
 * A webhook run is created only for an active goal (a manual one for a paused goal too).
 *
 * Overlap `skip` (the default) is decided in the same statement: when the goal has a pending or
 * running run, the new one is recorded as `skipped` with the reason. `queue` and `allow` create a
 * pending run (the queue consumer makes a `queue` run wait; see queue/consumer.ts).
 */
export async function createRuns(d1: D1Database, plans: RunPlan[], now: number, defaultStepBudget: number): Promise<CreatedRun[]> {
  if (plans.length === 0) return [];
  const items = JSON.stringify(
    plans.map((p) => ({
      r: p.runId,
      g: p.goalId,
      t: p.trigger,
      s: p.scheduledFor,
      k: p.skippedCount,
      p: p.expectNextRunAt,
      n: p.nextRunAt,
      i: p.input ?? null,
      d: p.deliveryId ?? null,
      e: p.deliveryEvent ?? null,
    })),
  );
  const insert = d1
    .prepare(
      `WITH c AS MATERIALIZED (
         SELECT json_extract(j.value, '$.r') AS run_id, g.id AS goal_id, json_extract(j.value, '$.t') AS trig,
                json_extract(j.value, '$.s') AS sched, json_extract(j.value, '$.k') AS skipped,
                json_extract(j.value, '$.i') AS input, json_extract(j.value, '$.d') AS delivery,
                json_extract(j.value, '$.e') AS event,
                coalesce(json_extract(g.params, '$.stepBudget'), ?3) AS budget,
                CASE WHEN coalesce(json_extract(g.params, '$.overlap'), '${DEFAULT_OVERLAP}') = 'skip' THEN
                  (SELECT a.id FROM runs a WHERE a.goal_id = g.id AND a.status IN (${ACTIVE}) LIMIT 1)
                END AS busy
         FROM json_each(?1) j
         JOIN goals g ON g.id = json_extract(j.value, '$.g')
         WHERE (json_extract(j.value, '$.p') IS NULL AND g.status <> 'archived'
                AND (json_extract(j.value, '$.t') <> 'webhook' OR g.status = 'active'))
            OR (g.status = 'active' AND g.next_run_at = json_extract(j.value, '$.p'))
       )
       INSERT INTO runs (id, goal_id, status, trigger, scheduled_for, step_budget, skipped_count, input, delivery_id, delivery_event, attempts,
                         error, end_reason, ended_at, created_at, updated_at)
       SELECT c.run_id, c.goal_id,
              CASE WHEN c.busy IS NULL THEN 'pending' ELSE 'skipped' END,
              c.trig, c.sched, c.budget, c.skipped, c.input, c.delivery, c.event,
              CASE WHEN c.busy IS NULL THEN 1 ELSE 0 END,
              CASE WHEN c.busy IS NULL THEN NULL ELSE 'overlap: run ' || c.busy || ' of this goal was still active' END,
              CASE WHEN c.busy IS NULL THEN NULL ELSE 'skipped' END,
              CASE WHEN c.busy IS NULL THEN NULL ELSE ?2 END,
              ?2, ?2
       FROM c WHERE true
       ON CONFLICT DO NOTHING
       RETURNING id, goal_id AS goalId, status, step_budget AS stepBudget, error, end_reason AS endReason, attempts,
         (SELECT coalesce(json_extract(g.params, '$.overlap'), '${DEFAULT_OVERLAP}') FROM goals g WHERE g.id = runs.goal_id) AS overlap`,
    )
    .bind(items, now, defaultStepBudget);
  // The same guard as above: a goal paused, rescheduled or advanced by a concurrent tick since it
  // was read keeps its newer next_run_at. The unary + keeps SQLite off the status index, which would
  // make it scan every active goal against the JSON; this way each item is one primary-key lookup.
  const advance = d1
    .prepare(
      `UPDATE goals SET next_run_at = json_extract(j.value, '$.n')
       FROM json_each(?1) j
       WHERE goals.id = json_extract(j.value, '$.g')
         AND json_extract(j.value, '$.p') IS NOT NULL
         AND +goals.status = 'active' AND +goals.next_run_at = json_extract(j.value, '$.p')`,
    )
    .bind(items);
  const scheduled = plans.some((p) => p.expectNextRunAt !== null);
  const [inserted] = await d1.batch<CreatedRun>(scheduled ? [insert, advance] : [insert]);
  return inserted?.results ?? [];
}

export type ReaperPolicy = {
  /** A running run with no heartbeat (nor any other update) for this long is stale. */
  runningStaleMs: number;
  /** A pending run no consumer picked up for this long is stale (its queue message was lost). */
  pendingStaleMs: number;
  /** After this many enqueues, a stale run is failed instead of re-enqueued. */
  maxAttempts: number;
  /** A stale run older than this is failed whatever its attempts. */
  maxAgeMs: number;
  /** Runs handled per tick: bounds the queries' work and the queue sends. */
  limit: number;
};

export type ReapedRun = { id: string; goalId: string };

/**
 * Finds stale runs and, in one D1 batch, fails those out of attempts or too old (with the reason in
 * `error`) and bumps `attempts` on the others, which the caller re-enqueues. A pending run of an
 * overlap-`queue` goal that waits behind an earlier unfinished run is not stale: it is waiting.
 */
export async function reapStaleRuns(d1: D1Database, now: number, p: ReaperPolicy): Promise<{ failed: ReapedRun[]; requeued: ReapedRun[] }> {
  // ?1 now, ?2 running cut-off, ?3 pending cut-off, ?4 max attempts, ?5 age cut-off, ?6 limit, ?7 minutes
  const stale = `(
    (r.status = 'running' AND max(coalesce(r.heartbeat_at, 0), coalesce(r.started_at, 0), r.updated_at) < ?2)
    OR (r.status = 'pending' AND r.updated_at < ?3
        AND NOT EXISTS (
          SELECT 1 FROM runs e JOIN goals g ON g.id = e.goal_id
          WHERE e.goal_id = r.goal_id AND e.status IN (${ACTIVE}) AND e.id < r.id
            AND json_extract(g.params, '$.overlap') = 'queue')))`;
  // A run's age counts from its last settled wait, if any: a run resumed after days of waiting is not "old".
  const outOfTries = `(r.attempts >= ?4 OR max(r.created_at, coalesce((SELECT max(w.decided_at) FROM waits w WHERE w.run_id = r.id), 0)) < ?5)`;
  const candidates = (which: string) => `SELECT r.id FROM runs r WHERE r.status IN (${ACTIVE}) AND ${stale} AND ${which} LIMIT ?6`;
  const params = [now, now - p.runningStaleMs, now - p.pendingStaleMs, p.maxAttempts, now - p.maxAgeMs, p.limit, String(Math.round(p.runningStaleMs / 60_000))];
  const fail = d1
    .prepare(
      `UPDATE runs SET status = 'failed', end_reason = 'error', ended_at = ?1, updated_at = ?1,
         error = CASE status
           WHEN 'running' THEN 'stale: no heartbeat from the agent for ' || ?7 || ' min, after ' || attempts || ' attempt(s)'
           ELSE 'stale: no consumer picked the run up, after ' || attempts || ' attempt(s)' END
       WHERE id IN (${candidates(outOfTries)})
       RETURNING id, goal_id AS goalId`,
    )
    .bind(...params);
  const requeue = d1
    .prepare(
      `UPDATE runs SET attempts = attempts + 1, updated_at = ?1
       WHERE id IN (${candidates(`NOT ${outOfTries}`)})
       RETURNING id, goal_id AS goalId`,
    )
    .bind(...params.slice(0, 6));
  // One batch, one transaction: the failing statement runs first, so a run is never both.
  const [failed, requeued] = await d1.batch<ReapedRun>([fail, requeue]);
  return { failed: failed?.results ?? [], requeued: requeued?.results ?? [] };
}
