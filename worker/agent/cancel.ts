/**
 * Cancelling runs from the Worker: the one path shared by POST /runs/:id/cancel and DELETE /goals/:id.
 * The D1 flag (runs.cancel_requested_at) is the durable request: the loop reads it at its next safe
 * point, even after an eviction or in another isolate. The agent RPC is the fast path: it aborts the
 * run's in-flight LLM call or tool at once when the run executes in the goal's agent.
 */
import { getAgentByName } from "agents";
import type { Db } from "../db/client";
import type { Env } from "../lib/env";
import { cancelPending, requestCancel } from "../db/run-state";
import { activeRunsOf } from "../db/runs";
import type { RunRow } from "../db/schema";

/**
 * `cancelled`: the run was pending and is over now (the caller sends its notification); `requested`: it was
 * running and stops at once or at its next safe point.
 */
export type CancelOutcome = "cancelled" | "requested";

/** Requests the cancellation of a pending or running run (a finished one is left as it is). */
export async function cancelRunNow(env: Env, db: Db, run: Pick<RunRow, "id" | "goalId">): Promise<CancelOutcome> {
  await requestCancel(db, run.id);
  if (await cancelPending(db, run.id)) return "cancelled";
  try {
    await (await getAgentByName(env.GOAL_AGENT, run.goalId)).cancelRun(run.id);
  } catch (e) {
    // The D1 flag stops the run anyway; the RPC only makes it stop sooner.
    console.error(JSON.stringify({ at: "cancel", runId: run.id, error: String(e) }));
  }
  return "requested";
}

const STOP_WAIT_MS = 5_000;
const STOP_POLL_MS = 100;

/**
 * Cancels every pending or running run of a goal, then waits (at most STOP_WAIT_MS) until none of them
 * executes in the goal's agent any more, so that a caller deleting the goal's files next does not race
 * a tool still writing them. Returns the ids of the runs it cancelled.
 */
export async function cancelGoalRuns(env: Env, db: Db, goalId: string): Promise<string[]> {
  const active = await activeRunsOf(db, goalId);
  if (!active.length) return [];
  const outcomes = await Promise.all(active.map((r) => cancelRunNow(env, db, r)));
  const running = active.filter((_, i) => outcomes[i] === "requested").map((r) => r.id);
  if (running.length) await waitUntilStopped(env, goalId, running);
  return active.map((r) => r.id);
}

async function waitUntilStopped(env: Env, goalId: string, runIds: string[]): Promise<void> {
  const deadline = Date.now() + STOP_WAIT_MS;
  try {
    const agent = await getAgentByName(env.GOAL_AGENT, goalId);
    let live = runIds;
    while (live.length && Date.now() < deadline) {
      const states = await Promise.all(live.map((id) => agent.isLive(id)));
      live = live.filter((_, i) => states[i]);
      if (live.length) await new Promise((r) => setTimeout(r, STOP_POLL_MS));
    }
    if (live.length) console.warn(JSON.stringify({ at: "cancel.wait", goalId, stillLive: live }));
  } catch (e) {
    // Best effort: the D1 flag (and the rows being gone) still stops the run at its next safe point.
    console.error(JSON.stringify({ at: "cancel.wait", goalId, error: String(e) }));
  }
}
