/** Helpers for agent tests: script the fake LLM, start runs the way a user does, wait for their end. */
import { env } from "cloudflare:workers";
import { expect, vi } from "vitest";
import { type Checkpoint, runLoop } from "../../worker/agent/run-loop";
import { dbFor } from "../../worker/db/client";
import { getGoal } from "../../worker/db/goals";
import { insertRun } from "../../worker/db/runs";
import { providerFor } from "../../worker/llm/provider";
import { finishTool } from "../../worker/tools/finish.tool";
import type { Tool } from "../../worker/tools/tool";
import type { FakeScript } from "../fakes/llm";
import { api, createGoal } from "./api";

const llmUrl = () => (env as unknown as { TEST_LLM_URL: string }).TEST_LLM_URL;
let seq = 0;

/** Registers a script with the fake LLM and returns the objective marker that selects it. */
export async function script(s: FakeScript, name = "s"): Promise<{ key: string; marker: string }> {
  const key = `${name}-${Date.now().toString(36)}-${++seq}-${Math.random().toString(36).slice(2, 8)}`;
  const res = await fetch(`${llmUrl()}/__scripts`, { method: "POST", body: JSON.stringify({ key, script: s }) });
  expect(res.status).toBe(200);
  return { key, marker: `[script:${key}]` };
}

export type LlmStats = {
  requests: number;
  maxRequestTokens: number;
  headers: Record<string, string>[];
  toolsOffered: string[][];
  firstMessages: { role: string; content?: unknown }[];
};

export async function llmStats(key: string): Promise<LlmStats> {
  return (await fetch(`${llmUrl()}/__stats/${key}`)).json();
}

/** Creates a goal running `s` and starts it with POST /goals/:id/run (through the RUNS queue). */
export async function startScriptedRun(s: FakeScript, goal: { objective?: string; params?: Record<string, unknown>; webhookUrl?: string } = {}) {
  const { key, marker } = await script(s);
  const created = await createGoal({ objective: `${goal.objective ?? "Test goal"} ${marker}`, params: goal.params, webhookUrl: goal.webhookUrl });
  const res = await api.post(`/goals/${created.id}/run`);
  expect(res.status).toBe(202);
  return { key, goal: created, run: res.body };
}

export async function waitForRunEnd(runId: string, timeout = 20_000) {
  return vi.waitFor(
    async () => {
      const r = await api.get(`/runs/${runId}`);
      if (!["completed", "failed", "cancelled", "skipped"].includes(r.body.status)) throw new Error(`run is ${r.body.status}`);
      return r.body;
    },
    { timeout, interval: 100 },
  );
}

export async function stepsOf(runId: string) {
  return (await api.get(`/runs/${runId}/steps?limit=500`)).body.items as any[];
}

export type DirectLoopOptions = {
  tools?: Tool[];
  now?: () => number;
  /** Bindings over the test bindings for this run. */
  env?: Record<string, string>;
  onCheckpoint?: (cp: Checkpoint) => void;
  /** Runs after the goal exists, before the loop reads it (seeding its usage, say). */
  beforeStart?: (goalId: string) => Promise<unknown>;
  /** The script key's prefix. */
  name?: string;
};

/**
 * Runs the loop directly (no Durable Object, no queue) on a new goal scripted with `s`; the goal's objective
 * (default "Loop test") gets the script's marker.
 */
export async function runLoopDirectly(s: FakeScript, goalBody: Record<string, unknown> = {}, opts: DirectLoopOptions = {}) {
  const { key, marker } = await script(s, opts.name);
  const created = await createGoal({ ...goalBody, objective: `${goalBody.objective ?? "Loop test"} ${marker}` });
  await opts.beforeStart?.(created.id);
  const db = dbFor(env.DB);
  const goal = (await getGoal(db, created.id))!;
  const run = await insertRun(db, { goalId: goal.id, trigger: "manual", stepBudget: 20, status: "running" });
  const e = { ...env, ...opts.env };
  const result = await runLoop({
    env: e,
    db,
    goal,
    run,
    llm: providerFor(e, goal),
    tools: opts.tools ?? [finishTool()],
    signal: new AbortController().signal,
    checkpoint: (cp) => opts.onCheckpoint?.(cp),
    now: opts.now,
  });
  // These runs have no person in the loop: a run that waits is a test's mistake.
  if (result.status === "waiting") throw new Error(`run ${run.id} waits for a person (${result.wait.kind})`);
  return { result, key, goalId: goal.id as string, runId: run.id };
}

/** Moves D1's steps table away, so every step write fails until the returned `restore` (safe to call twice) puts it back. */
export async function refuseStepWrites(): Promise<() => Promise<void>> {
  await env.DB.exec("ALTER TABLE steps RENAME TO steps_away");
  let restored = false;
  return async () => {
    if (restored) return;
    restored = true;
    await env.DB.exec("ALTER TABLE steps_away RENAME TO steps");
  };
}
