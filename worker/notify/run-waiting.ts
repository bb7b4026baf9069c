/**
 * Telling a person that a run waits for them: a signed `run.waiting` webhook to the goal's webhookUrl
 * (Standard Webhooks, the same signing and retries as run-ended, webhook-id derived from the wait) and,
 * when an email provider is configured, an email to the goal's first allowed address. Both carry the
 * one-click decision links (net/decision-links.ts). Sent at most once per wait: the first caller claims
 * the wait's notice (a resumed run that asks again finds it claimed).
 */
import { dbFor } from "../db/client";
import { getGoal } from "../db/goals";
import { presentRun, presentWait } from "../db/present";
import { getRun, insertOutput } from "../db/runs";
import type { GoalRow, RunRow, WaitRow } from "../db/schema";
import { claimWaitNotice } from "../db/waits";
import { RUN_WAITING_EVENT } from "../domain/vocabulary";
import type { Env } from "../lib/env";
import { redactSecrets } from "../lib/redact";
import { decisionLinks } from "../net/decision-links";
import { egressPolicy } from "../net/guarded-fetch";
import { deliverWebhook, webhookNotConfigured } from "../net/webhook-signing";
import { allowedRecipients, deliverEmail, emailNotConfigured } from "../tools/email.tool";
import { iso } from "../lib/iso";

export const waitWebhookId = (waitId: string) => `msg_${waitId.replace(/\./g, "_")}_waiting`;

export async function notifyRunWaiting(env: Env, runId: string, wait: WaitRow): Promise<void> {
  const db = dbFor(env.DB);
  const [run, claimed] = await Promise.all([getRun(db, runId), claimWaitNotice(db, wait.id)]);
  if (!run || !claimed) return;
  const goal = await getGoal(db, run.goalId);
  if (!goal) return;
  const links = await decisionLinks(env, wait);
  await Promise.all([sendWebhook(env, goal, run, wait, links), sendEmail(env, goal, wait, links)]);
}

async function sendWebhook(env: Env, goal: GoalRow, run: RunRow, wait: WaitRow, links: Record<string, string>): Promise<void> {
  if (!goal.webhookUrl || webhookNotConfigured(env)) return;
  const id = waitWebhookId(wait.id);
  const body = JSON.stringify({
    type: RUN_WAITING_EVENT,
    timestamp: iso(wait.askedAt),
    data: { goal: { id: goal.id, objective: goal.objective }, run: presentRun(run, false, wait), waitingFor: presentWait(wait), links },
  });
  const d = await deliverWebhook(env, { url: goal.webhookUrl, id, body, policy: egressPolicy(env) }, { attempts: 4, backoffMs: 1000 });
  const host = new URL(goal.webhookUrl).host;
  if (!d.delivered) console.warn(JSON.stringify({ at: "notify.waiting", runId: run.id, webhookId: id, host, error: d.error }));
  await insertOutput(dbFor(env.DB), {
    runId: run.id,
    kind: "webhook",
    payload: { type: RUN_WAITING_EVENT, webhookId: id, host, delivered: d.delivered, status: d.status, attempts: d.attempts, error: d.error ?? null },
  });
}

/** What the email says: the goal, what is asked, and the links (each opens a page; nothing is decided by opening it). */
function emailText(goal: GoalRow, wait: WaitRow, links: Record<string, string>): { subject: string; text: string } {
  const objective = goal.objective.length > 300 ? `${goal.objective.slice(0, 300)}…` : goal.objective;
  const until = iso(wait.expiresAt);
  const lines =
    wait.kind === "approval"
      ? [
          `A run of your goal wants to call ${wait.tool} and waits for your approval until ${until}.`,
          "",
          `Goal: ${objective}`,
          `Call: ${wait.tool} ${JSON.stringify(wait.input, null, 2)}`,
          "",
          `Approve: ${links.approve}`,
          `Deny: ${links.deny}`,
        ]
      : [
          `A run of your goal asks you a question and waits for the answer until ${until}.`,
          "",
          `Goal: ${objective}`,
          `Question: ${wait.question}`,
          ...(wait.choices?.length ? [`Choices: ${wait.choices.join(" / ")}`] : []),
          "",
          `Answer: ${links.answer}`,
        ];
  lines.push("", "Without an answer by then, the call counts as denied and the run goes on.");
  const subject = wait.kind === "approval" ? `Approval needed: ${wait.tool}` : "A question from your agent";
  return { subject, text: lines.join("\n") };
}

async function sendEmail(env: Env, goal: GoalRow, wait: WaitRow, links: Record<string, string>): Promise<void> {
  if (!env.EMAIL_PROVIDER || emailNotConfigured(env)) return;
  const to = allowedRecipients(env, goal).find((a) => !a.startsWith("@"));
  if (!to) return;
  const msg = { to, ...emailText(goal, wait, links) };
  let record: Record<string, unknown>;
  try {
    const messageId = await deliverEmail(env, msg, `${wait.id}-waiting`);
    record = { sent: true, messageId };
  } catch (e) {
    record = { sent: false, reason: redactSecrets(env, e instanceof Error ? e.message : String(e)) };
    console.warn(JSON.stringify({ at: "notify.waiting.email", runId: wait.runId, error: record.reason }));
  }
  await insertOutput(dbFor(env.DB), {
    runId: wait.runId,
    kind: "email",
    payload: { to, subject: msg.subject, bodyMarkdown: msg.text, provider: env.EMAIL_PROVIDER, event: RUN_WAITING_EVENT, ...record },
  });
}
