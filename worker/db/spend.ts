/**
 * Monthly spending and budgets. `usage_months` holds one row per goal and calendar month in the goal's
 * zone, and one per UTC month for the whole instance (scope '*'). Each turn's step write adds the run's
 * increase in cost and tokens to both in the same batch: the increase is the new total minus the total
 * stored on the run, read inside that transaction, so replaying a write (a resume, a retry) adds nothing.
 * D1 runs a batch as one transaction, one at a time, so each write returns the month's total including
 * every other run's confirmed turns: two runs of a goal that start together each see the other's
 * spending one turn later, and each overshoots a budget by at most that turn (then the closing write-up).
 */
import { and, desc, eq, gte, inArray, isNotNull, isNull, lte, sql } from "drizzle-orm";
import type { GoalParams } from "../domain/schemas";
import { localDay } from "../domain/next-fire";
import type { Db } from "./client";
import { usd } from "./present";
import { type GoalRow, runs, type UsageMonthRow, usageMonths } from "./schema";

export const GLOBAL_SCOPE = "*";
export type Spent = { costNanos: number; tokens: number };
/** The months a run counts in: the goal's (in its zone) and the instance's (UTC). */
export type Months = { goal: string; global: string };

export const monthsAt = (now: number, timezone: string): Months => ({ goal: localDay(now, timezone).slice(0, 7), global: localDay(now, "UTC").slice(0, 7) });

/** The statements adding a run's increase since its last write to both months (see the file comment); they go before the run's update. */
export function addSpend(
  db: Db,
  runId: string,
  goalId: string,
  months: Months,
  t: { promptTokens: number; completionTokens: number; costNanos?: number | null },
) {
  return [
    [goalId, months.goal],
    [GLOBAL_SCOPE, months.global],
  ].map(([scope, month]) =>
    db
      .insert(usageMonths)
      .select(
        sql`SELECT ${scope},${month},coalesce(${t.costNanos ?? null}-cost_nanos,0),${t.promptTokens + t.completionTokens}-prompt_tokens-completion_tokens,NULL FROM runs WHERE id=${runId} AND status='running'`,
      )
      .onConflictDoUpdate({
        target: [usageMonths.scope, usageMonths.month],
        set: { costNanos: sql`cost_nanos + excluded.cost_nanos`, tokens: sql`tokens + excluded.tokens` },
      })
      .returning({ costNanos: usageMonths.costNanos, tokens: usageMonths.tokens }),
  );
}

/** The goal's and the instance's rows of the months around `now` (any zone's current month is among them). */
export function spendRows(db: Db, goalId: string, now: number) {
  const m = (ms: number) => localDay(ms, "UTC").slice(0, 7);
  return db
    .select()
    .from(usageMonths)
    .where(and(inArray(usageMonths.scope, [goalId, GLOBAL_SCOPE]), gte(usageMonths.month, m(now - 86_400_000)), lte(usageMonths.month, m(now + 86_400_000))));
}

const none: Spent = { costNanos: 0, tokens: 0 };
export const spentIn = (rows: UsageMonthRow[], scope: string, month: string): Spent => rows.find((r) => r.scope === scope && r.month === month) ?? none;

/** "$5.03"; below a cent "$0.0012", so a small budget still reads as a number. */
const dollars = (nanos: number) => `$${(nanos / 1e9).toFixed(nanos && nanos < 1e7 ? 4 : 2)}`;

/**
 * The first budget `goal` has used up this month, as the sentence a skipped or stopped run records
 * ("monthly budget of $5.00 reached: $5.03 spent since 2026-12-01"), or null while every budget has room.
 */
export function budgetReached(params: GoalParams, globalUsd: string | undefined, months: Months, goal: Spent, all: Spent): string | null {
  const since = (m: string) => `since ${m}-01`;
  const cap = params.monthlyBudgetUsd;
  if (cap !== undefined && goal.costNanos >= cap * 1e9)
    return `monthly budget of ${dollars(cap * 1e9)} reached: ${dollars(goal.costNanos)} spent ${since(months.goal)}`;
  const tokens = params.monthlyTokenBudget;
  if (tokens !== undefined && goal.tokens >= tokens) return `monthly token budget of ${tokens} tokens reached: ${goal.tokens} used ${since(months.goal)}`;
  if (!globalUsd?.trim()) return null;
  const g = Number(globalUsd);
  // A malformed cap stops spending rather than being ignored: it was set to limit it.
  if (!(g >= 0)) return `MONTHLY_BUDGET_USD "${globalUsd}" is not a number of dollars`;
  if (all.costNanos >= g * 1e9)
    return `instance monthly budget of ${dollars(g * 1e9)} (MONTHLY_BUDGET_USD) reached: ${dollars(all.costNanos)} spent ${since(months.global)}`;
  return null;
}

/** Claims the goal's usage.budget_reached event of `month`: true once per goal and month. */
export async function claimBudgetNotice(db: Db, goalId: string, month: string, now: number): Promise<boolean> {
  const r = await db
    .insert(usageMonths)
    .values({ scope: goalId, month, notifiedAt: now })
    .onConflictDoUpdate({ target: [usageMonths.scope, usageMonths.month], set: { notifiedAt: now }, setWhere: isNull(usageMonths.notifiedAt) })
    .returning({ month: usageMonths.month });
  return r.length > 0;
}

/** What GET /goals/:id shows of money: this month's spending, the last run's cost, and whether a budget stops the goal's runs. */
export async function goalMonth(db: Db, goal: GoalRow, globalUsd: string | undefined, now = Date.now()) {
  const months = monthsAt(now, goal.timezone);
  const [rows, last] = await db.batch([
    spendRows(db, goal.id, now),
    db
      .select({ id: runs.id, costNanos: runs.costNanos })
      .from(runs)
      .where(and(eq(runs.goalId, goal.id), isNotNull(runs.startedAt)))
      .orderBy(desc(runs.id))
      .limit(1),
  ]);
  const spent = spentIn(rows, goal.id, months.goal);
  const reason = budgetReached(goal.params, globalUsd, months, spent, spentIn(rows, GLOBAL_SCOPE, months.global));
  return {
    usage: {
      month: months.goal,
      costUsd: usd(spent.costNanos) ?? 0,
      tokens: spent.tokens,
      lastRun: last[0] ? { id: last[0].id, costUsd: usd(last[0].costNanos) } : null,
    },
    readiness: { ready: !reason, reason },
  };
}
