/**
 * The RUNS queue consumer: validate each message, hand the run to its goal's agent, ack or retry —
 * one message at a time, so one bad run cannot hold back the batch. Messages are acked only after
 * the agent accepted the run durably (or when there is nothing left to do). Failures retry with
 * exponential backoff; after max_retries the message lands on the dead-letter queue, whose
 * consumer (also here) marks the run failed with the reason.
 */
import { getAgentByName } from "agents";
import type { Env } from "../lib/env";
import { type Db, dbFor } from "../db/client";
import { getGoal } from "../db/goals";
import { earlierActiveRunOf, getRun } from "../db/runs";
import type { GoalRow } from "../db/schema";
import { endRun, noteHandoverError } from "../db/run-state";
import { isTerminal, overlapOf } from "../domain/vocabulary";
import { notifyRunEnded } from "../notify/run-ended";
import { RunMessage } from "./messages";

export const DLQ_NAME = "async-agent-runs-dlq";
/** While an overlap-"queue" run waits for the previous one. */
export const WAIT_DELAY_SECONDS = 30;
const MAX_BACKOFF_SECONDS = 600;

/** 10 s, 20 s, 40 s ... capped: attempts counts deliveries (1 on the first). */
export const backoffSeconds = (attempts: number) => Math.min(MAX_BACKOFF_SECONDS, 5 * 2 ** Math.max(1, attempts));

/**
 * With overlap "queue", a run waits (the consumer sends its message again later) while an earlier run of
 * the goal is pending or running, so queued runs start one at a time, in fire-time order. A stuck earlier
 * run cannot block the queue for ever: the reaper re-enqueues or fails it.
 */
export async function mustWaitForPrevious(db: Db, goal: GoalRow, runId: string): Promise<boolean> {
  return overlapOf(goal.params) === "queue" && (await earlierActiveRunOf(db, goal.id, runId)) !== null;
}

const log = (event: Record<string, unknown>) => console.log(JSON.stringify({ at: "queue", ...event }));

/**
 * Hands a run to its goal's agent (idempotent: the agent accepts a run id once); also called straight from
 * run-now, which passes `resendWhenWaiting: false`: its queue message is still on its way and will wait.
 */
export async function handOver(env: Env, body: RunMessage, resendWhenWaiting = true): Promise<void> {
  // Only an overlap-"queue" run may have to wait, and only a message that does not say its goal's policy
  // (the reaper's re-sends) must look it up: those read D1 here. Every other message goes straight to
  // the agent, whose first D1 batch decides whether the run can start (gone, cancelled, goal deleted).
  if (body.overlap === undefined || body.overlap === "queue") {
    const db = dbFor(env.DB);
    const run = await getRun(db, body.runId);
    if (!run || isTerminal(run.status)) return;
    const goal = await getGoal(db, run.goalId);
    if (goal && run.status === "pending" && (await mustWaitForPrevious(db, goal, run.id))) {
      // Waiting is not a failure: a fresh delayed message (then ack) keeps the wait from using up this
      // message's max_retries, which would dead-letter a run queued behind a long one.
      if (resendWhenWaiting) await env.RUNS.send(body, { delaySeconds: WAIT_DELAY_SECONDS, contentType: "json" });
      return;
    }
  }
  const t0 = Date.now();
  const agent = await getAgentByName(env.GOAL_AGENT, body.goalId);
  const t1 = Date.now();
  const res = await agent.acceptRun(body.runId);
  log({ runId: body.runId, goalId: body.goalId, ...res, agentMs: t1 - t0, acceptMs: Date.now() - t1 });
}

async function deadLetter(env: Env, msg: Message<unknown>): Promise<void> {
  const parsed = RunMessage.safeParse(msg.body);
  if (parsed.success) {
    const db = dbFor(env.DB);
    const last = (await getRun(db, parsed.data.runId))?.error;
    const error = `the run could not be handed to its agent after ${msg.attempts} deliveries (dead-lettered)${last ? `; last error: ${last}` : "; see the Worker logs"}`;
    if ((await endRun(db, parsed.data.runId, { status: "failed", endReason: "error", summary: null, error }, null)).notify)
      await notifyRunEnded(env, parsed.data.runId);
  }
  msg.ack();
}

async function handle(env: Env, msg: Message<unknown>, queue: string): Promise<void> {
  if (queue === DLQ_NAME) {
    await deadLetter(env, msg).catch((e) => {
      log({ dlq: true, id: msg.id, error: String(e) });
      msg.retry({ delaySeconds: backoffSeconds(msg.attempts) });
    });
    return;
  }
  const parsed = RunMessage.safeParse(msg.body);
  if (!parsed.success) {
    // A malformed message will never succeed: drop it loudly instead of retrying it into the DLQ.
    log({ id: msg.id, dropped: "invalid message", issues: parsed.error.issues.map((i) => i.message) });
    msg.ack();
    return;
  }
  try {
    await handOver(env, parsed.data);
    msg.ack();
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    log({ runId: parsed.data.runId, attempts: msg.attempts, error: message });
    msg.retry({ delaySeconds: backoffSeconds(msg.attempts) });
    await noteHandoverError(dbFor(env.DB), parsed.data.runId, message).catch(() => {});
  }
}

/**
 * Messages of different goals are handed over concurrently (each is a few D1 reads and one agent
 * RPC, mostly waiting); messages of the same goal go in order, so the overlap check of one sees
 * the run the previous one started.
 */
export async function consumeRuns(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const byGoal = new Map<string, Message<unknown>[]>();
  for (const msg of batch.messages) {
    const goalId = RunMessage.safeParse(msg.body).data?.goalId ?? `?${msg.id}`;
    byGoal.set(goalId, [...(byGoal.get(goalId) ?? []), msg]);
  }
  await Promise.all(
    [...byGoal.values()].map(async (msgs) => {
      for (const msg of msgs) await handle(env, msg, batch.queue);
    }),
  );
}
