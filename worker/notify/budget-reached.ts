/**
 * The `usage.budget_reached` event: once per goal and calendar month (the claim in usage_months, see
 * db/spend.ts), POSTed signed to the goal's webhook like the run events, when a run of the goal is
 * skipped or stopped because a monthly budget is used up. Its webhook-id names the goal and the month.
 */
import { dbFor } from "../db/client";
import type { GoalRow } from "../db/schema";
import { claimBudgetNotice, type Spent } from "../db/spend";
import { BUDGET_REACHED_EVENT } from "../domain/vocabulary";
import type { Env } from "../lib/env";
import { egressPolicy } from "../net/guarded-fetch";
import { deliverWebhook, webhookNotConfigured } from "../net/webhook-signing";
import { iso } from "../lib/iso";

export async function notifyBudgetReached(env: Env, goal: GoalRow, month: string, reason: string, spent: Spent, now = Date.now()): Promise<void> {
  if (!goal.webhookUrl || webhookNotConfigured(env) || !(await claimBudgetNotice(dbFor(env.DB), goal.id, month, now))) return;
  const id = `msg_budget_${goal.id}_${month}`;
  const body = JSON.stringify({
    type: BUDGET_REACHED_EVENT,
    timestamp: iso(now),
    data: { goal: { id: goal.id, objective: goal.objective }, month, reason, costUsd: spent.costNanos / 1e9, tokens: spent.tokens },
  });
  const d = await deliverWebhook(env, { url: goal.webhookUrl, id, body, policy: egressPolicy(env) }, { attempts: 4, backoffMs: 1000 });
  if (!d.delivered) console.warn(JSON.stringify({ at: "notify", goalId: goal.id, webhookId: id, error: d.error }));
}
