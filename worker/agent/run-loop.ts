/**
 * The run loop: model ↔ tools, as a plain function with explicit budgets, testable without a
 * Durable Object. The caller (the agent's fiber) passes `checkpoint`, called after every turn with
 * everything needed to resume: the conversation, the step count, the totals and the step rows of
 * that turn (`pending`), which are stashed *before* they are written to D1 and rewritten
 * idempotently on resume — so an eviction between the two loses nothing and duplicates nothing.
 *
 * Budgets: `stepBudget` counts tool calls (each one is a step row; parallel calls are several
 * steps). A final text answer or the closing write-up is one more step row, not counted against it.
 */
import { DEFAULT_STEP_BUDGET } from "../domain/vocabulary";
import type { Db } from "../db/client";
import type { Env } from "../lib/env";
import { recentMemories } from "../db/memories";
import type { GoalRow, MemoryRow, RunRow, StepRow } from "../db/schema";
import { LlmError } from "../llm/errors";
import type { Completion, LlmProvider, Message } from "../llm/types";
import { validateLlm } from "../llm/validate";
import { Provenance } from "../tools/fetch-policy";
import { toolSpec, type Tool } from "../tools/tool";
import { boundConversation, capObservation } from "./context-window";
import { MEMORY_DIGEST, openingMessages, type Budget } from "./prompt";
import { type Ending, heartbeat, type Totals } from "../db/run-state";
import { linkSourceSteps, recordSteps, STORED_OBSERVATION_MAX } from "../db/steps";
import { readMoreTool, runToolCall, type CallResult } from "./tool-calls";

export type Checkpoint = {
  v: 1;
  messages: Message[];
  stepNo: number;
  promptTokens: number;
  completionTokens: number;
  startedAt: number;
  warnings: string[];
  /** The step rows of the last turn: rewritten (ON CONFLICT DO NOTHING) when resuming. */
  pending: StepRow[];
  /**
   * The turn under way: the model's reply and the results of its tool calls so far, stashed as each
   * one completes. A resume finishes this turn (running only the calls without a result) instead of
   * asking the model again, so a completed step is never run twice.
   */
  turn?: Turn;
};

/** A tool call's result as stored: the observation cut to what D1 keeps, and its full length for the note. */
type StepResult = Omit<CallResult, "observation"> & { observation: string; observationLength: number };
type Turn = { reply: Completion; calls: number; results: (StepResult | null)[] };

export type LoopInput = {
  env: Env;
  db: Db;
  goal: GoalRow;
  run: RunRow;
  llm: LlmProvider;
  tools: Tool[];
  /** Aborted on cancellation (RPC) — the loop also polls runs.cancel_requested_at. */
  signal: AbortSignal;
  checkpoint: (cp: Checkpoint) => void;
  resumeFrom?: Checkpoint | null;
  /** The goal's newest memories for the prompt, when the caller already read them (the agent does, in its start batch). */
  memories?: MemoryRow[];
  now?: () => number;
};

export type LoopResult = Ending & { totals: Totals };

const HEARTBEAT_MS = 30_000;
/** A turn's step write is idempotent (ON CONFLICT DO NOTHING), so a D1 hiccup is retried after these pauses. */
const STEP_WRITE_RETRY_MS = [250, 1000];

/** A turn's step rows could not be written: the loop stops before any further tool runs. */
class StepsNotRecorded extends Error {
  constructor(rows: StepRow[], cause: unknown) {
    const first = rows[0]?.stepNo;
    const last = rows.at(-1)?.stepNo;
    const which = first === last ? `step ${first}` : `steps ${first}–${last}`;
    super(`could not record ${which} in D1: ${cause instanceof Error ? cause.message : String(cause)}. No tool ran after ${first === last ? "it" : "them"}.`);
  }
}
/** The closing write-up may overrun the time budget by this much. */
const CLOSING_GRACE_MS = 60_000;

export const budgetOf = (goal: GoalRow): Budget => ({
  steps: goal.params.stepBudget ?? DEFAULT_STEP_BUDGET,
  tokens: goal.params.tokenBudget ?? null,
  seconds: goal.params.timeBudgetSeconds ?? null,
});

/** What a turn's first step row records of the reply. */
const usageOf = (r: Completion) => ({ promptTokens: r.usage.prompt, completionTokens: r.usage.completion, error: r.warning ?? null });

const totalsOf = (cp: Checkpoint): Totals => ({ stepsExecuted: cp.stepNo, promptTokens: cp.promptTokens, completionTokens: cp.completionTokens });

export async function runLoop(input: LoopInput): Promise<LoopResult> {
  const state: LoopState = { flush: async () => {}, timing: null };
  const started = Date.now();
  const result = await loop(input, state);
  try {
    await state.flush();
    if (state.timing) {
      const o = [...state.timing.overheadMs].sort((a, b) => a - b);
      console.log(
        JSON.stringify({
          at: "run.timing",
          runId: input.run.id,
          status: result.status,
          steps: result.totals.stepsExecuted,
          wallMs: Date.now() - started,
          llmMs: state.timing.llmMs,
          toolMs: state.timing.toolMs,
          overheadMedianMs: o[Math.floor(o.length / 2)] ?? null,
          overheadMs: o,
        }),
      );
    }
    return result;
  } catch (e) {
    return { ...result, status: "failed", endReason: "error", error: e instanceof Error ? e.message : String(e) };
  }
}

type LoopState = { flush: () => Promise<void>; timing: { llmMs: number; toolMs: number; overheadMs: number[] } | null };

async function loop(input: LoopInput, state: LoopState): Promise<LoopResult> {
  const { db, goal, run, llm } = input;
  const now = input.now ?? Date.now;
  const budget = budgetOf(goal);
  const tools = [...input.tools, readMoreTool()];
  const byName = new Map(tools.map((t) => [t.name, t]));
  const specs = tools.map(toolSpec);
  const cancel = new AbortController();
  const signal = AbortSignal.any([input.signal, cancel.signal]);

  // The URLs the run may fetch: the goal's, then those its results showed (see fetch-policy.ts).
  const provenance = new Provenance(goal);
  const learnLinks = (toolName: string, result: string) => {
    const links = byName.get(toolName)?.links;
    if (links) provenance.add(links(result));
  };
  let cp: Checkpoint;
  if (input.resumeFrom) {
    cp = input.resumeFrom;
    if (cp.pending.length) await recordSteps(db, run.id, cp.pending, totalsOf(cp));
    // Rebuilt from the stored results (all recorded now), the same text the live run read them from.
    const linkTools = tools.filter((t) => t.links).map((t) => t.name);
    for (const s of await linkSourceSteps(db, run.id, linkTools)) learnLinks(s.toolName, s.observation);
  } else {
    const check = await validateLlm(input.env, goal);
    if (!check.ok)
      return {
        status: "failed",
        endReason: "error",
        summary: null,
        error: check.reason ?? "LLM setup is invalid",
        totals: { stepsExecuted: 0, promptTokens: 0, completionTokens: 0 },
      };
    const memories = input.memories ?? (await recentMemories(db, goal.id, MEMORY_DIGEST));
    const messages = openingMessages(memories, goal, run, input.tools, budget, new Date(now()));
    cp = { v: 1, messages, stepNo: 0, promptTokens: 0, completionTokens: 0, startedAt: now(), warnings: [], pending: [] };
    input.checkpoint(cp);
  }
  const deadline = budget.seconds ? cp.startedAt + budget.seconds * 1000 : null;
  // Where a run's time goes (logged at the end; bench:agent reads it): our overhead per step is the
  // time from an LLM reply to the next request, minus the tools' time.
  const timing = { llmMs: 0, toolMs: 0, overheadMs: [] as number[] };
  let turnStart: number | null = null;
  let turnToolMs = 0;
  state.timing = timing;
  const end = (e: Ending): LoopResult => ({
    ...e,
    error: e.error ?? (cp.warnings.length ? cp.warnings.join("; ") : null),
    totals: totalsOf(cp),
  });

  // The D1 write of a turn overlaps the next LLM call: the checkpoint, stashed first and synchronously,
  // holds every row whose write is not confirmed yet (a resume rewrites them, ON CONFLICT DO NOTHING),
  // so durability does not depend on D1 and its round trip leaves the per-step critical path. Writes
  // stay ordered, and a commit waits for the previous write, so at most one is in flight. No tool runs
  // before the previous turn's write is confirmed (`await inflight` before the tools): a write that
  // fails stops the run there, with its steps so far recorded, instead of after more side effects.
  let inflight: Promise<void> = Promise.resolve();
  let unconfirmed: StepRow[] = [];
  state.flush = () => inflight;
  const commit = async (rows: StepRow[], pushed: Message[]) => {
    cp.stepNo += rows.length;
    cp.messages = boundConversation([...cp.messages, ...pushed], [], Infinity);
    cp.pending = unconfirmed = [...unconfirmed, ...rows];
    cp.turn = undefined;
    input.checkpoint(cp);
    const totals = totalsOf(cp);
    const previous = inflight;
    inflight = previous
      .then(() => writeSteps(rows, totals))
      .then(({ cancelRequested }) => {
        unconfirmed = unconfirmed.filter((r) => !rows.includes(r));
        if (cancelRequested) cancel.abort("cancel requested");
      });
    // Observed by the next commit or the final flush; this only keeps it from counting as unhandled meanwhile.
    inflight.catch(() => {});
    await previous;
  };

  const writeSteps = async (rows: StepRow[], totals: Totals) => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await recordSteps(db, run.id, rows, totals, now());
      } catch (e) {
        if (attempt >= STEP_WRITE_RETRY_MS.length) throw new StepsNotRecorded(rows, e);
        await new Promise((r) => setTimeout(r, STEP_WRITE_RETRY_MS[attempt]));
      }
    }
  };

  const stepRow = (stepNo: number, r: Partial<StepRow>): StepRow => ({
    runId: run.id,
    stepNo,
    thought: null,
    toolName: null,
    toolInput: null,
    observation: null,
    durationMs: 0,
    promptTokens: 0,
    completionTokens: 0,
    error: null,
    createdAt: now(),
    ...r,
  });

  /** One last turn with tools disabled: the model writes up what it has. */
  const closeOut = async (reason: string): Promise<LoopResult> => {
    const ask: Message = {
      role: "user",
      content: `The ${reason} is used up. Stop using tools. Write your final report now in markdown: what you did, what you found, and what is left to do.`,
    };
    try {
      const reply = await llm.complete({
        messages: boundConversation([...cp.messages, ask], specs),
        tools: specs,
        toolChoice: "none",
        signal: AbortSignal.any([signal, AbortSignal.timeout(CLOSING_GRACE_MS)]),
      });
      cp.promptTokens += reply.usage.prompt;
      cp.completionTokens += reply.usage.completion;
      const summary = reply.text?.trim() || `Stopped: the ${reason} is used up (the model wrote no report).`;
      const row = stepRow(cp.stepNo + 1, { thought: summary, promptTokens: reply.usage.prompt, completionTokens: reply.usage.completion });
      await commit([row], [ask, { role: "assistant", content: summary }]);
      return end({ status: "completed", endReason: "budget_exhausted", summary, error: null });
    } catch (e) {
      if (input.signal.aborted || cancel.signal.aborted) throw e;
      const summary = `Stopped: the ${reason} is used up after ${cp.stepNo} steps; the final report could not be written.`;
      return end({ status: "completed", endReason: "budget_exhausted", summary, error: e instanceof Error ? e.message : String(e) });
    }
  };

  const beat = setInterval(() => {
    heartbeat(db, run.id, now()).then(
      (c) => c && cancel.abort("cancel requested"),
      () => {},
    );
  }, HEARTBEAT_MS);
  try {
    for (;;) {
      if (signal.aborted) return end({ status: "cancelled", endReason: "cancelled", summary: null, error: null });
      // A turn interrupted after the model's reply (eviction, restart) is finished, not asked again.
      let turn = cp.turn;
      if (!turn) {
        const stepsLeft = budget.steps - cp.stepNo;
        if (stepsLeft <= 0) return await closeOut(`step budget (${budget.steps} steps)`);
        if (budget.tokens && cp.promptTokens + cp.completionTokens >= budget.tokens) return await closeOut(`token budget (${budget.tokens} tokens)`);
        if (deadline && now() >= deadline) return await closeOut(`time budget (${budget.seconds} s)`);

        const turnSignal = deadline ? AbortSignal.any([signal, AbortSignal.timeout(Math.max(1, deadline - now()))]) : signal;
        let reply: Completion;
        try {
          const messages = boundConversation(cp.messages, specs);
          if (turnStart !== null) timing.overheadMs.push(Date.now() - turnStart - turnToolMs);
          const sent = Date.now();
          reply = await llm.complete({ messages, tools: specs, signal: turnSignal });
          timing.llmMs += Date.now() - sent;
          turnStart = Date.now();
          turnToolMs = 0;
        } catch (e) {
          if (!signal.aborted && deadline && now() >= deadline) return await closeOut(`time budget (${budget.seconds} s)`);
          throw e;
        }
        cp.promptTokens += reply.usage.prompt;
        cp.completionTokens += reply.usage.completion;
        if (reply.warning && !cp.warnings.includes(reply.warning)) cp.warnings.push(reply.warning);

        if (!reply.toolCalls.length) {
          const answer = reply.text?.trim() || "(the model ended the run with an empty answer)";
          await commit([stepRow(cp.stepNo + 1, { thought: answer, ...usageOf(reply) })], [{ role: "assistant", content: answer }]);
          return end({ status: "completed", endReason: "answered", summary: answer, error: null });
        }
        turn = { reply, calls: Math.min(reply.toolCalls.length, stepsLeft), results: [] };
        cp.turn = turn;
        input.checkpoint(cp);
      }

      const { reply } = turn;
      const usage = usageOf(reply);
      const calls = reply.toolCalls.slice(0, turn.calls);
      const ctx = { env: input.env, db, goal, runId: run.id, provenance };
      // The previous turn's steps are recorded before this turn's tools act (this throws StepsNotRecorded if not).
      await inflight;
      if (signal.aborted) return end({ status: "cancelled", endReason: "cancelled", summary: null, error: null });
      const toolsStart = Date.now();
      let outstanding = calls.filter((_, i) => !turn.results[i]).length;
      const results: StepResult[] = await Promise.all(
        calls.map(async (call, i) => {
          const stashed = turn.results[i];
          if (stashed) return stashed;
          const r = await runToolCall(call, byName, { ...ctx, stepNo: cp.stepNo + 1 + i }, signal);
          const result = { ...r, observation: r.observation.slice(0, STORED_OBSERVATION_MAX), observationLength: r.observation.length };
          turn.results[i] = result;
          // The last result needs no stash of its own: the commit below stashes the turn without awaiting anything first.
          if (--outstanding > 0) input.checkpoint(cp);
          return result;
        }),
      );
      turnToolMs = Date.now() - toolsStart;
      // The next turn may follow what this one showed (calls of one turn cannot use each other's links).
      for (const r of results) if (r.error === null) learnLinks(r.call.name, r.observation);
      timing.toolMs += turnToolMs;
      const base = cp.stepNo;
      const rows = results.map((r, i) =>
        stepRow(base + 1 + i, {
          thought: i === 0 ? reply.text : null,
          toolName: r.call.name,
          toolInput: r.input,
          observation: r.observation,
          durationMs: r.durationMs,
          ...(i === 0 ? usage : {}),
          error: r.error ?? (i === 0 ? usage.error : null),
        }),
      );
      const pushed: Message[] = [
        { role: "assistant", content: reply.text, toolCalls: reply.toolCalls },
        ...results.map(
          (r, i): Message => ({
            role: "tool",
            toolCallId: r.call.id,
            name: r.call.name,
            content: capObservation(r.observation, base + 1 + i, r.observationLength),
            stepNo: base + 1 + i,
          }),
        ),
        // Every tool_call id needs an answer, even the ones past the step budget.
        ...reply.toolCalls
          .slice(calls.length)
          .map((c): Message => ({ role: "tool", toolCallId: c.id, name: c.name, content: "Not run: the step budget is used up." })),
      ];
      await commit(rows, pushed);
      const finished = results.find((r) => r.end);
      if (finished?.end) return end({ status: "completed", endReason: "finished", summary: finished.end.summary, error: null });
    }
  } catch (e) {
    if (signal.aborted) return end({ status: "cancelled", endReason: "cancelled", summary: null, error: null });
    const msg = e instanceof LlmError || e instanceof StepsNotRecorded ? e.message : `internal error: ${e instanceof Error ? e.message : String(e)}`;
    return end({ status: "failed", endReason: "error", summary: null, error: msg });
  } finally {
    clearInterval(beat);
  }
}
