/**
 * The cron tick (`* * * * *`): reap stale runs, then select due goals, create their runs, advance
 * next_run_at and enqueue the run ids on RUNS. It never calls a model.
 *
 * Everything is page-at-a-time and set-based: one SELECT, then one D1 batch (INSERT runs + UPDATE
 * goals) per page of up to PAGE_SIZE goals, then the queue sends. 10,000 due goals cost 33 D1
 * queries (10 pages x 3, the reaper's 2, one last empty SELECT). When more goals are due than one tick may dispatch (SCHEDULER_MAX_DUE_PER_TICK), the rest
 * stay due and the next tick takes them first (the query is in next_run_at order): none is lost, and
 * the unique key runs(goal_id, scheduled_for) plus the next_run_at guard mean none is doubled.
 */
import { DEFAULT_STEP_BUDGET } from "../domain/vocabulary";
import type { Env } from "../lib/env";
import { pruneKeys } from "../db/idempotency";
import { expireWaits } from "../db/waits";
import { createRuns, selectDueGoals, type DueGoal, type RunPlan } from "../db/scheduling";
import { newId } from "../lib/ids";
import { enqueueRuns } from "../queue/messages";
import { planFire, type CountBudget, type FirePlan } from "../domain/next-fire";
import { reapStaleRuns, reaperPolicyFrom, type ReapStats } from "./reaper";

/**
 * Goals per page. The page travels as one JSON parameter (~130 bytes a goal, ~130 KB a page, far
 * below D1's 2 MB value limit), and one INSERT of 1,000 rows stays well inside D1's 30 s query limit
 * while keeping the write lock short for the API.
 */
export const PAGE_SIZE = 1000;
/**
 * Default cap on goals per tick. Each page costs 3 D1 queries and PAGE_SIZE/100 queue sends (sendBatch
 * takes at most 100 messages): 20,000 goals are ~63 queries and 200 sends, well inside the Paid plan's
 * 1,000 D1 queries and 10,000 subrequests per invocation. On the Free plan (50 D1 queries, 50
 * subrequests, 10 ms CPU) set SCHEDULER_MAX_DUE_PER_TICK to a few hundred at most.
 */
export const DEFAULT_MAX_DUE_PER_TICK = 20_000;
/** Expired waits settled per tick: sendBatch takes at most 100 messages. */
const EXPIRE_LIMIT = 100;

export type DispatchLimits = { pageSize: number; maxDuePerTick: number };

export type TickStats = {
  now: string;
  due: number;
  created: number;
  overlapSkipped: number;
  enqueued: number;
  pages: number;
  /** D1 statements this tick issued (each statement of a batch counts). */
  queries: number;
  /** True when the cap stopped the tick with goals still due: the next tick continues. */
  more: boolean;
  reaped: ReapStats;
  /** Waiting runs whose wait expired this tick (they go on as if denied). */
  expiredWaits: number;
  /** Expired Idempotency-Key records deleted. */
  prunedKeys: number;
  ms: number;
  error?: string;
};

const positiveInt = (v: unknown, fallback: number) => {
  const n = Number(v);
  return Number.isInteger(n) && n > 0 ? n : fallback;
};

export function limitsFrom(env: Env): DispatchLimits {
  return { pageSize: PAGE_SIZE, maxDuePerTick: positiveInt(env.SCHEDULER_MAX_DUE_PER_TICK, DEFAULT_MAX_DUE_PER_TICK) };
}

/** Plans the runs of one page. Plans are memoized per (cron, zone, due time): goals often share them. */
function planPage(page: DueGoal[], now: number, memo: Map<string, FirePlan | null>, budget: CountBudget): RunPlan[] {
  return page.map((g) => {
    const key = `${g.cron}\u0000${g.timezone}\u0000${g.nextRunAt}`;
    let plan = memo.get(key);
    if (plan === undefined) {
      try {
        plan = g.cron ? planFire(g.cron, g.timezone, g.nextRunAt, now, budget) : null;
      } catch (e) {
        // A cron or zone croner rejects (the API validates both, so this means a hand-edited row):
        // run this fire once and stop scheduling, rather than retrying the goal every tick.
        console.error(JSON.stringify({ msg: "scheduler.bad_schedule", goalId: g.id, error: String(e) }));
        plan = null;
      }
      memo.set(key, plan);
    }
    return {
      runId: newId("run", now),
      goalId: g.id,
      trigger: "schedule",
      scheduledFor: plan?.scheduledFor ?? g.nextRunAt,
      skippedCount: plan?.skippedCount ?? 0,
      expectNextRunAt: g.nextRunAt,
      nextRunAt: plan?.nextRunAt ?? null,
    };
  });
}

async function dispatchPages(env: Env, now: number, limits: DispatchLimits, stats: TickStats, sends: Promise<void>[]) {
  const memo = new Map<string, FirePlan | null>();
  // Exact catch-up counting gets ~20,000 nextRun() calls per tick (a few seconds of CPU at most).
  const budget: CountBudget = { left: 20_000 };
  while (stats.due < limits.maxDuePerTick) {
    const want = Math.min(limits.pageSize, limits.maxDuePerTick - stats.due);
    const page = await selectDueGoals(env.DB, now, want);
    stats.queries++;
    if (page.length === 0) return;
    stats.pages++;
    stats.due += page.length;
    const plans = planPage(page, now, memo, budget);
    const created = await createRuns(env.DB, plans, now, DEFAULT_STEP_BUDGET);
    stats.queries += 2;
    stats.created += created.length;
    const pending = created.filter((r) => r.status === "pending");
    stats.overlapSkipped += created.length - pending.length;
    // Enqueue after the commit: a run is never on the queue without its row. Should a send fail,
    // the run stays pending and the reaper re-enqueues it. The sends of one page overlap the D1 work
    // of the next (sendBatch takes at most 100 messages, so a page is 10 sends).
    const msgs = pending.map((r) => ({ runId: r.id, goalId: r.goalId, overlap: r.overlap }));
    sends.push(enqueueRuns(env.RUNS, msgs).then(() => void (stats.enqueued += msgs.length)));
    if (page.length < want) return;
  }
  // The cap was reached: is anything still due? (One cheap indexed query, for the log.)
  stats.more = (await selectDueGoals(env.DB, now, 1)).length > 0;
  stats.queries++;
}

/** The entry the cron handler calls. Returns (and logs) what the tick did. */
export async function dispatchDueGoals(env: Env, now: Date, limits: DispatchLimits = limitsFrom(env)): Promise<TickStats> {
  const started = Date.now();
  const t = now.getTime();
  const stats: TickStats = {
    now: now.toISOString(),
    due: 0,
    created: 0,
    overlapSkipped: 0,
    enqueued: 0,
    pages: 0,
    queries: 0,
    more: false,
    reaped: { requeued: 0, failed: 0, queries: 0 },
    expiredWaits: 0,
    prunedKeys: 0,
    ms: 0,
  };
  const errors: string[] = [];
  // The reaper and the dispatch fail separately: a reaper error must not stop goals from firing.
  try {
    stats.reaped = await reapStaleRuns(env, t, reaperPolicyFrom(env));
    stats.queries += stats.reaped.queries;
  } catch (e) {
    errors.push(`reaper: ${e instanceof Error ? e.message : String(e)}`);
  }
  // Waits past their expiry: settled as expired (the call counts as denied) and their runs resumed. One
  // batch of 2 statements, at most EXPIRE_LIMIT waits a tick (one queue send); the rest the next minute.
  try {
    const resumed = await expireWaits(env.DB, t, EXPIRE_LIMIT);
    stats.queries += 2;
    stats.expiredWaits = resumed.length;
    if (resumed.length)
      await enqueueRuns(
        env.RUNS,
        resumed.map((r) => ({ runId: r.id, goalId: r.goalId })),
      );
  } catch (e) {
    errors.push(`waits: ${e instanceof Error ? e.message : String(e)}`);
  }
  // Idempotency keys past their 24 h window, once an hour (minute 0): one indexed DELETE of at most
  // 1,000 rows, so the other ticks spend no D1 query on it.
  if (now.getUTCMinutes() === 0)
    try {
      stats.prunedKeys = await pruneKeys(env.DB, t);
      stats.queries++;
    } catch (e) {
      errors.push(`prune: ${e instanceof Error ? e.message : String(e)}`);
    }
  const sends: Promise<void>[] = [];
  try {
    await dispatchPages(env, t, limits, stats, sends);
  } catch (e) {
    errors.push(`dispatch: ${e instanceof Error ? e.message : String(e)}`);
  }
  for (const sent of await Promise.allSettled(sends))
    if (sent.status === "rejected") errors.push(`enqueue: ${String(sent.reason)} (the reaper re-enqueues those runs)`);
  if (errors.length) stats.error = errors.join("; ");
  stats.ms = Date.now() - started;
  const busy = stats.due > 0 || stats.expiredWaits > 0 || stats.reaped.requeued > 0 || stats.reaped.failed > 0 || stats.error;
  if (busy) (stats.error ? console.error : console.log)(JSON.stringify({ msg: "scheduler.tick", ...stats }));
  if (stats.error) throw new Error(`scheduler tick failed: ${stats.error}`);
  return stats;
}
