/**
 * The completion notification: when a run reaches completed/failed/cancelled and its goal has a webhook
 * URL, POST a signed `run.<status>` event (Standard Webhooks) and record the delivery as a `webhook`
 * output. The agent calls this from its durable fiber and may call it again after a restart, so:
 * - the webhook-id is derived from the run id and the body from stored data: every attempt, in any
 *   process, sends the same message, and receivers dedupe on the id;
 * - one caller at a time holds the run's notification claim (others return at once), and the delivery is
 *   recorded in the same transaction that settles it, so exactly once (see db/notifications.ts).
 */
import { presentOutput, presentRun, usd } from "../db/present";
import type { Env } from "../lib/env";
import { dbFor } from "../db/client";
import { getGoal } from "../db/goals";
import { getRun, listOutputs } from "../db/runs";
import { claimNotification, settleNotification, settleWithoutDelivery } from "../db/notifications";
import type { GoalRow, RunRow } from "../db/schema";
import { endEventOf, isEnded } from "../domain/vocabulary";
import { egressPolicy } from "../net/guarded-fetch";
import { deliverWebhook, webhookNotConfigured, type Delivery } from "../net/webhook-signing";
import { iso } from "../lib/iso";

/** The delivery's id: the same for every retry and every process that sends it. */
export const runWebhookId = (runId: string) => `msg_${runId}_ended`;

export async function runEndedEvent(env: Env, goal: GoalRow, run: RunRow): Promise<string> {
  const outputs = await listOutputs(dbFor(env.DB), run.id);
  return JSON.stringify({
    type: endEventOf(run.status),
    timestamp: iso(run.endedAt ?? run.updatedAt),
    data: {
      goal: { id: goal.id, objective: goal.objective },
      run: presentRun(run),
      status: run.status,
      costUsd: usd(run.costNanos),
      summary: run.summary,
      error: run.error,
      outputs: outputs.map(presentOutput),
    },
  });
}

/** Sends the run's completion webhook once (see the file comment). Never throws for delivery failures. */
export async function notifyRunEnded(env: Env, runId: string): Promise<void> {
  const db = dbFor(env.DB);
  const run = await getRun(db, runId);
  if (!run || run.notifiedAt !== null || !isEnded(run.status)) return;
  const goal = await getGoal(db, run.goalId);
  if (!goal?.webhookUrl) {
    await settleWithoutDelivery(db, runId);
    return;
  }
  const claimedAt = Date.now();
  if (!(await claimNotification(db, runId, claimedAt))) return;
  const id = runWebhookId(run.id);
  const host = new URL(goal.webhookUrl).host;
  const why = webhookNotConfigured(env);
  let delivery: Delivery;
  if (why) delivery = { delivered: false, status: null, attempts: 0, error: `not sent: ${why}` };
  else {
    const body = await runEndedEvent(env, goal, run);
    // The goal's webhook URL is its owner's setting: only the private-network rule applies to it.
    delivery = await deliverWebhook(env, { url: goal.webhookUrl, id, body, policy: egressPolicy(env) }, { attempts: 4, backoffMs: 1000 });
  }
  if (!delivery.delivered) console.warn(JSON.stringify({ at: "notify", runId, webhookId: id, host, error: delivery.error, attempts: delivery.attempts }));
  // Delivered or given up on: either way this run's notification is settled, and recorded once.
  await settleNotification(db, runId, claimedAt, {
    type: endEventOf(run.status),
    webhookId: id,
    host,
    delivered: delivery.delivered,
    status: delivery.status,
    attempts: delivery.attempts,
    error: delivery.error,
  });
}
