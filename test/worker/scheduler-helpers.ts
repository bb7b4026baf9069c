/** Scheduler test helpers: a controlled clock through the real scheduled handler, and D1 row access. */
import { env, exports } from "cloudflare:workers";
import { expect } from "vitest";
import type { RunMessage } from "../../worker/queue/messages";
import { createGoal } from "./api";

type ScheduledFetcher = { scheduled(o: { scheduledTime: Date; cron: string }): Promise<{ outcome: string }> };

/** One cron tick at `at`, through `exports.default.scheduled` (needs service_binding_extra_handlers). */
export async function tick(at: string | number | Date): Promise<void> {
  const res = await (exports.default as unknown as ScheduledFetcher).scheduled({ scheduledTime: new Date(at), cron: "* * * * *" });
  expect(res.outcome).toBe("ok");
}

export const ms = (iso: string) => Date.parse(iso);

export type RunDbRow = {
  id: string;
  goal_id: string;
  status: string;
  trigger: string;
  scheduled_for: number | null;
  skipped_count: number;
  attempts: number;
  error: string | null;
  end_reason: string | null;
  ended_at: number | null;
};

export async function runsOf(goalId: string): Promise<RunDbRow[]> {
  const { results } = await env.DB.prepare("SELECT * FROM runs WHERE goal_id = ? ORDER BY scheduled_for, id").bind(goalId).all<RunDbRow>();
  return results;
}

export async function runById(id: string): Promise<RunDbRow | null> {
  return env.DB.prepare("SELECT * FROM runs WHERE id = ?").bind(id).first<RunDbRow>();
}

export async function nextRunAt(goalId: string): Promise<number | null> {
  const row = await env.DB.prepare("SELECT next_run_at AS n FROM goals WHERE id = ?").bind(goalId).first<{ n: number | null }>();
  return row?.n ?? null;
}

export async function setNextRunAt(goalId: string, at: string | number): Promise<void> {
  await env.DB.prepare("UPDATE goals SET next_run_at = ? WHERE id = ?")
    .bind(typeof at === "number" ? at : ms(at), goalId)
    .run();
}

/** A goal created through the API, then moved to a fixed first fire time (the API computes it from the real clock). */
export async function scheduledGoal(cron: string, timezone: string, firstFire: string, params: Record<string, unknown> = {}) {
  const goal = await createGoal({ schedule: { cron, timezone }, params });
  await setNextRunAt(goal.id, firstFire);
  return goal.id as string;
}

/** Inserts a run row directly (a run some agent is working on, or one nobody picked up). */
export async function insertRunRow(r: {
  id: string;
  goalId: string;
  status: string;
  createdAt: number;
  updatedAt?: number;
  heartbeatAt?: number | null;
  attempts?: number;
  scheduledFor?: number | null;
}): Promise<void> {
  await env.DB.prepare(
    `INSERT INTO runs (id, goal_id, status, trigger, scheduled_for, step_budget, attempts, heartbeat_at, started_at, created_at, updated_at)
     VALUES (?, ?, ?, 'schedule', ?, 10, ?, ?, ?, ?, ?)`,
  )
    .bind(
      r.id,
      r.goalId,
      r.status,
      r.scheduledFor ?? null,
      r.attempts ?? 1,
      r.heartbeatAt ?? null,
      r.status === "running" ? r.createdAt : null,
      r.createdAt,
      r.updatedAt ?? r.createdAt,
    )
    .run();
}

/** Leaves no goal due and no run unfinished, so one test's ticks never act on another test's rows. */
export async function quiesce(): Promise<void> {
  await env.DB.batch([
    env.DB.prepare("UPDATE goals SET status = 'paused', next_run_at = NULL WHERE status = 'active'"),
    env.DB.prepare("UPDATE runs SET status = 'completed' WHERE status IN ('pending', 'running')"),
  ]);
}

/** A RUNS queue stand-in that records what was sent, for calling dispatchDueGoals directly. */
export function recordingQueue() {
  const batches: RunMessage[][] = [];
  const queue = {
    async send(body: RunMessage) {
      batches.push([body]);
    },
    async sendBatch(msgs: Iterable<MessageSendRequest<RunMessage>>) {
      batches.push([...msgs].map((m) => m.body));
    },
  } as unknown as Queue<RunMessage>;
  return { queue, batches, messages: () => batches.flat() };
}
