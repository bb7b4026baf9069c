/**
 * The completion notification: when a run reaches completed/failed/cancelled and its goal has a webhook
 * URL, POST a signed `run.<status>` event (Standard Webhooks) and record the delivery as a `webhook`
 * output. The agent calls this from its durable fiber and may call it again after a restart, so:
 * - the webhook-id is derived from the run id and the body from stored data: every attempt, in any
 *   process, sends the same message, and receivers dedupe on the id;
 * - runs.notified_at holds a claim while one caller delivers (others return at once) and the delivery
 *   time once settled; the output is recorded in the same transaction that settles it, so exactly once.
 */
import { and, eq, isNull } from "drizzle-orm";
import { presentOutput, presentRun } from "../db/present";
import type { Env } from "../lib/env";
import { dbFor } from "../db/client";
import { getGoal } from "../db/goals";
import { getRun, listOutputs } from "../db/runs";
import { runs, type GoalRow, type RunRow } from "../db/schema";
import { endEventOf } from "../domain/vocabulary";
import { newId } from "../lib/ids";
import { egressPolicy } from "../net/guarded-fetch";
import { deliverWebhook, webhookNotConfigured, type Delivery } from "../net/webhook-signing";

const NOTIFIED_STATUSES: readonly RunRow["status"][] = ["completed", "failed", "cancelled"];

/** The delivery's id: the same for every retry and every process that sends it. */
export const runWebhookId = (runId: string) => `msg_${runId}_ended`;

export async function runEndedEvent(env: Env, goal: GoalRow, run: RunRow): Promise<string> {
  const outputs = await listOutputs(dbFor(env.DB), run.id);
  return JSON.stringify({
    type: endEventOf(run.status),
    timestamp: new Date(run.endedAt ?? run.updatedAt).toISOString(),
    data: {
      goal: { id: goal.id, objective: goal.objective },
      run: presentRun(run),
      status: run.status,
      summary: run.summary,
      error: run.error,
      outputs: outputs.map(presentOutput),
    },
  });
}

/** A claim older than this is taken to be from a process that died mid-delivery, and is taken over. */
const CLAIM_LEASE_MS = 5 * 60_000;

/**
 * Claims the run's notification: notified_at = -claimedAt while a delivery is under way, +deliveredAt
 * once settled. Only one caller at a time holds the claim, so concurrent callers (agent, cancel route,
 * reaper) do not both deliver; a stale claim (crash mid-delivery) is taken over and the same message
 * is re-sent, which receivers drop by its webhook-id.
 */
async function claim(env: Env, runId: string, now: number): Promise<boolean> {
  const row = await env.DB.prepare(
    `UPDATE runs SET notified_at = ?1 WHERE id = ?2 AND status IN ('completed','failed','cancelled')
       AND (notified_at IS NULL OR (notified_at < 0 AND notified_at > ?3)) RETURNING id`,
  )
    .bind(-now, runId, CLAIM_LEASE_MS - now)
    .first();
  return row !== null;
}

/** Settles a claim and records the delivery as an output, atomically (a D1 batch is one transaction). */
async function settle(env: Env, runId: string, claimedAt: number, payload: Record<string, unknown>): Promise<void> {
  const now = Date.now();
  await env.DB.batch([
    env.DB.prepare(
      `INSERT INTO outputs (id, run_id, kind, path, payload, created_at)
         SELECT ?1, ?2, 'webhook', NULL, ?3, ?4 WHERE EXISTS (SELECT 1 FROM runs WHERE id = ?2 AND notified_at = ?5)`,
    ).bind(newId("out", now), runId, JSON.stringify(payload), now, -claimedAt),
    env.DB.prepare(`UPDATE runs SET notified_at = ?1 WHERE id = ?2 AND notified_at = ?3`).bind(now, runId, -claimedAt),
  ]);
}

/** Sends the run's completion webhook once (see the file comment). Never throws for delivery failures. */
export async function notifyRunEnded(env: Env, runId: string): Promise<void> {
  const db = dbFor(env.DB);
  const run = await getRun(db, runId);
  if (!run || (run.notifiedAt !== null && run.notifiedAt > 0) || !NOTIFIED_STATUSES.includes(run.status)) return;
  const goal = await getGoal(db, run.goalId);
  if (!goal?.webhookUrl) {
    await db
      .update(runs)
      .set({ notifiedAt: Date.now() })
      .where(and(eq(runs.id, runId), isNull(runs.notifiedAt)));
    return;
  }
  const claimedAt = Date.now();
  if (!(await claim(env, runId, claimedAt))) return;
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
  await settle(env, runId, claimedAt, {
    type: endEventOf(run.status),
    webhookId: id,
    host,
    delivered: delivery.delivered,
    status: delivery.status,
    attempts: delivery.attempts,
    error: delivery.error,
  });
}
