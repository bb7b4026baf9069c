/**
 * The run loop: model ↔ tools, as a plain function with explicit budgets, testable without a
 * Durable Object. The caller (the agent's fiber) passes `checkpoint`, called after every turn with
 * everything needed to resume: the conversation, the step count, the totals and the step rows of
 * that turn (`pending`), which are stashed *before* they are written to D1 and rewritten
 * idempotently on resume — so an eviction between the two loses nothing and duplicates nothing.
 *
 * Three phases: `startOrResume` (the LLM check and the opening prompt, or the checkpoint's unconfirmed
 * rows rewritten and its links relearned), `oneTurn` (ask the model, run its tool calls, record the
 * steps through the StepWriter), and `closeOut` (one last turn without tools when a budget is used up).
 *
 * Budgets: `stepBudget` counts tool calls (each one is a step row; parallel calls are several
 * steps). A final text answer or the closing write-up is one more step row, not counted against it;
 * nor are `update_plan` calls, up to as many as the step budget (beyond that they count, so a model
 * that only keeps re-planning still stops).
 *
 * A person in the loop (agent/person-gate.ts): a call that needs an approval or asks a question does
 * not run; the other calls of its turn do, then the loop opens a wait and returns `waiting`, and the
 * agent lets go of the run. Once a person decides (or the wait expires) the run is resumed from its
 * checkpoint: the turn is finished with the decision, never asking the model again.
 */
import { DEFAULT_STEP_BUDGET, UPDATE_PLAN_TOOL } from "../domain/vocabulary";
import type { Db } from "../db/client";
import type { Env } from "../lib/env";
import { recentMemories } from "../db/memories";
import type { GoalRow, MemoryRow, RunRow, StepRow, UsageMonthRow, WaitRow } from "../db/schema";
import { openWait, waitsOf } from "../db/waits";
import { budgetReached, GLOBAL_SCOPE, monthsAt, type Spent, spendRows, spentIn } from "../db/spend";
import { notifyBudgetReached } from "../notify/budget-reached";
import { LlmError } from "../llm/errors";
import { costNanos, type Price, priceOf } from "../llm/prices";
import type { Completion, LlmProvider, Message } from "../llm/types";
import { validateLlm } from "../llm/validate";
import { Provenance } from "../tools/fetch-policy";
import { type Effect, toolSpec, type Tool, type ToolContext } from "../tools/tool";
import { boundConversation, capObservation } from "./context-window";
import { MEMORY_DIGEST, openingMessages, type Budget } from "./prompt";
import { type Ending, heartbeat, type Totals } from "../db/run-state";
import { linkSourceSteps, STORED_OBSERVATION_MAX } from "../db/steps";
import { RunTiming } from "./run-timing";
import { MAX_UNCONFIRMED_FILE_CHARS, MAX_UNCONFIRMED_ROWS, StepsNotRecorded, StepWriter } from "./step-writer";
import { readMoreTool, runToolCall, type CallResult } from "./tool-calls";
import { gateOf, settledObservation, waitFor } from "./person-gate";

export type Checkpoint = {
  v: 1;
  messages: Message[];
  stepNo: number;
  promptTokens: number;
  completionTokens: number;
  /** Absent in checkpoints from before usage was priced (read as 0). */
  cachedTokens?: number;
  reasoningTokens?: number;
  /** Nano-USD so far; null when the model's price is unknown. */
  costNanos?: number | null;
  startedAt: number;
  /** Of the steps, the update_plan calls that did not count against the step budget. */
  planSteps?: number;
  /** Time spent waiting for people, which the time budget does not count; `waitingSince` while a wait is open. */
  waitedMs?: number;
  waitingSince?: number;
  warnings: string[];
  /** The step rows not confirmed written yet: rewritten (ON CONFLICT DO NOTHING) when resuming. */
  pending: StepRow[];
  /** The effects of journaled calls (output rows, files) not confirmed written yet: written again when resuming. */
  effects?: Effect[];
  /**
   * The ending decided by the turn committed with this checkpoint (a `finish` call, a plain answer, the closing
   * report), in the same stash as that turn: a process killed after it, before the agent stashed the ending,
   * resumes straight to this ending instead of asking the model for another turn.
   */
  ended?: Ending;
  /**
   * The turn under way: the model's reply and the results of its tool calls so far, stashed as each
   * one completes. A resume finishes this turn (running only the calls without a result) instead of
   * asking the model again, so a completed step is never run twice.
   */
  turn?: Turn;
};

/** A tool call's result as stored: the observation cut to what D1 keeps, and its full length for the note. */
type StepResult = Omit<CallResult, "observation"> & { observation: string; observationLength: number; effects?: Effect[] };
/** `recorded`: how many of the results were written already (before the run waited for a person). */
type Turn = { reply: Completion; calls: number; results: (StepResult | null)[]; recorded?: number };

export type LoopInput = {
  env: Env;
  db: Db;
  goal: GoalRow;
  run: RunRow;
  llm: LlmProvider;
  tools: Tool[];
  /** Aborted on cancellation (RPC) — the loop also polls runs.cancel_requested_at. */
  signal: AbortSignal;
  /**
   * Persists `cp` synchronously; returns the bytes it wrote. Messages only ever get appended to
   * `cp.messages` (never changed in place), so the caller may store just the new ones.
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: a checkpoint callback may return nothing (the tests' do)
  checkpoint: (cp: Checkpoint) => number | void;
  /** Told when step rows and effects are confirmed written (the agent drops them from its step journal). */
  onWritten?: (rows: StepRow[], effects: Effect[]) => void;
  resumeFrom?: Checkpoint | null;
  /** The goal's newest memories for the prompt, when the caller already read them (the agent does, in its start batch). */
  memories?: MemoryRow[];
  /** The goal's and the instance's monthly spending rows, when the caller read them (the agent does, in its start batch). */
  spend?: UsageMonthRow[];
  now?: () => number;
};

export type LoopResult = Ending & { totals: Totals };
/** The run waits for a person: the wait is open in D1, the run is `waiting`, and the checkpoint is stashed. */
export type Waiting = { status: "waiting"; wait: WaitRow };

const HEARTBEAT_MS = 30_000;
/** The closing write-up may overrun the time budget by this much. */
const CLOSING_GRACE_MS = 60_000;

export const budgetOf = (goal: GoalRow): Budget => ({
  steps: goal.params.stepBudget ?? DEFAULT_STEP_BUDGET,
  tokens: goal.params.tokenBudget ?? null,
  seconds: goal.params.timeBudgetSeconds ?? null,
});

/** What a turn's first step row records of the reply: its usage, its cost at `price`, and any warning. */
const usageOf = (r: Completion, price: Price | null) => ({
  promptTokens: r.usage.prompt,
  completionTokens: r.usage.completion,
  cachedTokens: r.usage.cached ?? 0,
  reasoningTokens: r.usage.reasoning ?? 0,
  costNanos: costNanos(price, r.usage),
  error: r.warning ?? null,
});

const totalsOf = (cp: Checkpoint, model: string): Totals => ({
  stepsExecuted: cp.stepNo,
  promptTokens: cp.promptTokens,
  completionTokens: cp.completionTokens,
  cachedTokens: cp.cachedTokens ?? 0,
  reasoningTokens: cp.reasoningTokens ?? 0,
  costNanos: cp.costNanos ?? null,
  model,
});

const messageOf = (e: unknown) => (e instanceof Error ? e.message : String(e));

export async function runLoop(input: LoopInput): Promise<LoopResult | Waiting> {
  const started = Date.now();
  const loop = new Loop(input);
  const refused = await loop.startOrResume();
  if (refused) return loop.budgetNotice(refused);
  const turns = await loop.turns();
  if (turns.status === "waiting") return turns;
  const result = await loop.budgetNotice(turns);
  try {
    // The last turn's write may still be in flight: the run ends only once it is confirmed.
    await loop.writer.confirmed();
    loop.timing.log({
      runId: input.run.id,
      status: result.status,
      steps: result.totals.stepsExecuted,
      writes: loop.writer.writes,
      wallMs: Date.now() - started,
    });
    return result;
  } catch (e) {
    return { ...result, status: "failed", endReason: "error", error: messageOf(e) };
  }
}

/** One run's loop: the state its phases share, and the phases as methods. */
class Loop {
  private readonly budget: Budget;
  private readonly tools: Tool[];
  private readonly byName: Map<string, Tool>;
  private readonly specs: ReturnType<typeof toolSpec>[];
  /** Aborted by a cancel the loop learns of from D1 (a step write or the heartbeat). */
  private readonly cancel = new AbortController();
  private readonly signal: AbortSignal;
  private readonly now: () => number;
  /** The URLs the run may fetch: the goal's, then those its results showed (see fetch-policy.ts). */
  private readonly provenance: Provenance;
  readonly writer: StepWriter;
  readonly timing = new RunTiming();
  private cp!: Checkpoint;
  private deadline: number | null = null;
  /** The model's price (llm/prices.ts), looked up once per start or resume; null: unknown. */
  private price: Price | null = null;
  /** The months' spending as of the last confirmed write, and the run's totals that write carried. */
  private spent: { goal: Spent; global: Spent; at: Totals } | null = null;
  /** A monthly budget this run found used up: the goal's month and the reason. */
  private budgetHit: { month: string; reason: string; spent: Spent } | null = null;
  /** The run's waits by step number, as of the start or resume (settled ones say how to finish their calls). */
  private waits = new Map<number, WaitRow>();

  constructor(private readonly input: LoopInput) {
    this.budget = budgetOf(input.goal);
    this.tools = [...input.tools, readMoreTool()];
    this.byName = new Map(this.tools.map((t) => [t.name, t]));
    this.specs = this.tools.map(toolSpec);
    this.signal = AbortSignal.any([input.signal, this.cancel.signal]);
    this.now = input.now ?? Date.now;
    this.provenance = new Provenance(input.goal, input.run.input);
    this.writer = new StepWriter(
      input.env,
      input.db,
      input.run.id,
      this.now,
      () => this.cancel.abort("cancel requested"),
      input.goal,
      (spent, at) => (this.spent = { ...spent, at }),
      input.onWritten,
    );
  }

  /**
   * Phase 1. A new run: the LLM check (a refusal ends the run before anything is written) and the opening
   * prompt, stashed as the first checkpoint. A resumed run: the checkpoint's unconfirmed rows are rewritten
   * and the links its stored results showed are learned again. Returns the ending when the run cannot start.
   */
  async startOrResume(): Promise<LoopResult | null> {
    const { input, budget } = this;
    const { db, goal, run } = input;
    // Spending so far this month, as of the start: a new run over a budget is skipped before any LLM call.
    const now = this.now();
    const months = monthsAt(now, goal.timezone);
    const rows = input.spend ?? (await spendRows(db, goal.id, now));
    this.spent = { goal: spentIn(rows, goal.id, months.goal), global: spentIn(rows, GLOBAL_SCOPE, months.global), at: { ...run, model: undefined } };
    if (input.resumeFrom) {
      this.cp = { cachedTokens: 0, reasoningTokens: 0, costNanos: 0, ...input.resumeFrom };
      await this.lookUpPrice();
      if (this.cp.pending.length || this.cp.effects?.length) {
        this.writer.write(this.cp.pending, this.cp.effects ?? [], this.totals());
        await this.writer.confirmed();
      }
      // Rebuilt from the stored results (all recorded now), the same text the live run read them from.
      const linkTools = this.tools.filter((t) => t.links).map((t) => t.name);
      const [sources, waits] = await Promise.all([linkSourceSteps(db, run.id, linkTools), this.cp.turn ? waitsOf(db, run.id) : []]);
      for (const s of sources) this.learnLinks(s.toolName, s.observation);
      for (const w of waits) this.waits.set(w.stepNo, w);
      if (this.cp.ended) return this.end(this.cp.ended);
    } else {
      const over = this.overBudget();
      if (over)
        return { status: "skipped", endReason: "skipped", summary: null, error: over, totals: { stepsExecuted: 0, promptTokens: 0, completionTokens: 0 } };
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
      const messages = openingMessages(memories, goal, run, input.tools, budget, new Date(this.now()));
      this.cp = { v: 1, messages, stepNo: 0, promptTokens: 0, completionTokens: 0, startedAt: this.now(), warnings: [], pending: [] };
      await this.lookUpPrice();
      this.cp.costNanos = this.price ? 0 : null;
      this.stash();
    }
    if (this.cp.waitingSince !== undefined) {
      this.cp.waitedMs = (this.cp.waitedMs ?? 0) + Math.max(0, this.now() - this.cp.waitingSince);
      this.cp.waitingSince = undefined;
    }
    this.deadline = budget.seconds ? this.cp.startedAt + (this.cp.waitedMs ?? 0) + budget.seconds * 1000 : null;
    return null;
  }

  /** Turn after turn until the run ends or waits; the heartbeat runs meanwhile. Never throws: a failure is the run's ending. */
  async turns(): Promise<LoopResult | Waiting> {
    const beat = setInterval(() => {
      heartbeat(this.input.db, this.input.run.id, this.now()).then(
        (c) => c && this.cancel.abort("cancel requested"),
        () => {},
      );
    }, HEARTBEAT_MS);
    try {
      for (;;) {
        if (this.signal.aborted) return this.cancelled();
        const ended = await this.oneTurn();
        if (ended) return ended;
      }
    } catch (e) {
      if (this.signal.aborted) return this.cancelled();
      const msg = e instanceof LlmError || e instanceof StepsNotRecorded ? e.message : `internal error: ${messageOf(e)}`;
      return this.end({ status: "failed", endReason: "error", summary: null, error: msg });
    } finally {
      clearInterval(beat);
    }
  }

  /**
   * Phase 2, one turn: ask the model (unless a resumed turn already has its reply), run its tool calls
   * (those that act outside once the earlier steps are recorded), and hand this turn's steps to the
   * writer. Returns the ending, or null to go on.
   */
  private async oneTurn(): Promise<LoopResult | Waiting | null> {
    // A write that failed stops the run before the model is asked again (StepsNotRecorded); one that keeps
    // failing (retries) holds the run back rather than let it take steps that may never be recorded.
    this.writer.check();
    if (this.writer.stalled()) await this.writer.confirmed();
    // A turn interrupted after the model's reply (eviction, restart) is finished, not asked again.
    const turn = this.cp.turn ?? (await this.ask());
    if ("status" in turn) return turn;
    const { cp, input, signal } = this;
    const { reply } = turn;
    const calls = reply.toolCalls.slice(0, turn.calls);
    // Calls that wait for a person run after the others, one decision at a time, in the model's order.
    // A call whose wait was settled follows that decision whatever the goal says now (its requireApproval
    // may have changed meanwhile: a denied call must never run because the list was edited).
    const gates = calls.map((call, i) => {
      const settled = this.waits.get(cp.stepNo + 1 + i);
      if (settled) return { kind: settled.kind, input: (settled.input ?? {}) as Record<string, unknown> };
      return gateOf(input.goal, call, this.byName.get(call.name));
    });
    // A call that acts outside runs only once the earlier steps are recorded; journaled ones need not wait
    // (step-writer.ts), unless much is unwritten.
    const outside = calls.some((c, i) => !turn.results[i] && !gates[i] && this.actsOutside(c.name));
    const backlog = this.writer.unconfirmed.length >= MAX_UNCONFIRMED_ROWS || this.writer.unconfirmedFileChars >= MAX_UNCONFIRMED_FILE_CHARS;
    if (outside || backlog) await this.writer.confirmed();
    if (signal.aborted) return this.cancelled();
    const toolsStart = Date.now();
    const call = async (i: number): Promise<CallResult & { effects: Effect[] }> => {
      const effects: Effect[] = [];
      const ctx: Omit<ToolContext, "signal"> = {
        env: input.env,
        db: input.db,
        goal: input.goal,
        runId: input.run.id,
        stepNo: cp.stepNo + 1 + i,
        provenance: this.provenance,
        journal: (e) => void effects.push(e),
      };
      const r = await runToolCall(calls[i], this.byName, ctx, signal);
      // A call that failed after journaling something leaves nothing behind.
      return { ...r, effects: r.error === null ? effects : [] };
    };
    let outstanding = calls.filter((_, i) => !turn.results[i]).length;
    const keep = (i: number, r: CallResult & { effects?: Effect[] }): StepResult => {
      const result = { ...r, observation: r.observation.slice(0, STORED_OBSERVATION_MAX), observationLength: r.observation.length };
      turn.results[i] = result;
      // Stashed so a resume does not run the call again. The last result needs no stash of its own (the commit
      // below stashes the turn without awaiting anything first); nor does a journaled call's (nothing of it takes
      // effect before a stash: the commit's, or the one before a wait writes it).
      if (--outstanding > 0 && (outside || this.actsOutside(r.call.name))) this.stash();
      return result;
    };
    await Promise.all(
      calls.map(async (_, i) => {
        if (turn.results[i] || gates[i]) return;
        keep(i, await call(i));
      }),
    );
    for (let i = 0; i < calls.length; i++) {
      const gate = gates[i];
      if (turn.results[i] || !gate) continue;
      const stepNo = cp.stepNo + 1 + i;
      const wait = this.waits.get(stepNo);
      if (!wait?.outcome) return this.waitForPerson(turn, i, gate);
      if (signal.aborted) return this.cancelled();
      const started = Date.now();
      // An approved call acts once the earlier steps are recorded, like any call that acts outside.
      if (wait.outcome === "approved") await this.writer.confirmed();
      keep(
        i,
        wait.outcome === "approved"
          ? await call(i)
          : { call: calls[i], input: gate.input, observation: settledObservation(wait), error: null, durationMs: Date.now() - started },
      );
    }
    const results = turn.results.slice(0, calls.length) as StepResult[];
    const toolMs = Date.now() - toolsStart;
    // The next turn may follow what this one showed (calls of one turn cannot use each other's links).
    for (const r of results) if (r.error === null) this.learnLinks(r.call.name, r.observation);
    this.timing.toolsTook(toolMs);
    const base = cp.stepNo;
    const rows = this.turnRows(turn, results);
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
    const finished = results.find((r) => r.end)?.end;
    const ending: Ending | undefined = finished && { status: "completed", endReason: "finished", summary: finished.summary, error: null };
    // Results written before the run waited for a person have had their effects written with them.
    const effects = results.slice(turn.recorded ?? 0).flatMap((r) => r.effects ?? []);
    this.commit(rows, pushed, ending, effects);
    if (ending) return this.end(ending);
    return null;
  }

  /** The step rows of a turn's results (the first carries the model's text and the reply's usage). */
  private turnRows(turn: Turn, results: StepResult[]): StepRow[] {
    const usage = usageOf(turn.reply, this.price);
    return results.map((r, i) =>
      this.stepRow(this.cp.stepNo + 1 + i, {
        thought: i === 0 ? turn.reply.text : null,
        toolName: r.call.name,
        toolInput: r.input,
        observation: r.observation,
        durationMs: r.durationMs,
        ...(i === 0 ? usage : {}),
        error: r.error ?? (i === 0 ? usage.error : null),
      }),
    );
  }

  /**
   * Lets the run wait for a person's decision on call `i`: the calls before it that have their results are
   * recorded (so the run's steps show them meanwhile, in order), the wait is opened and the run marked
   * `waiting` in one batch. The checkpoint holding the turn is stashed already: a resume finishes the turn.
   */
  private async waitForPerson(turn: Turn, i: number, gate: NonNullable<ReturnType<typeof gateOf>>): Promise<Waiting | LoopResult> {
    const { cp, input } = this;
    const done: StepResult[] = [];
    for (const r of turn.results) {
      if (!r) break;
      done.push(r);
    }
    const fresh = done.slice(turn.recorded ?? 0);
    if (fresh.length) {
      // The results are stashed before they are written: a resume writes the same rows and effects again, never new ones.
      this.stash();
      this.writer.write(
        this.turnRows(turn, done).slice(turn.recorded ?? 0),
        fresh.flatMap((r) => r.effects ?? []),
        this.totals(),
      );
    }
    await this.writer.confirmed();
    turn.recorded = done.length;
    const now = this.now();
    const call = turn.reply.toolCalls[i];
    const { wait, waiting } = await openWait(input.db, waitFor(input.goal, input.run.id, cp.stepNo + 1 + i, call, gate, now), now);
    if (!waiting) return this.cancelled();
    cp.waitingSince = now;
    this.stash();
    return { status: "waiting", wait };
  }

  /**
   * The model's side of a turn: checks the budgets (closing out when one is used up), asks the model, and
   * either ends the run with its text answer or returns the turn, stashed before any of its tools runs.
   */
  private async ask(): Promise<Turn | LoopResult> {
    const { cp, budget, deadline, signal } = this;
    const stepsLeft = budget.steps - (cp.stepNo - (cp.planSteps ?? 0));
    if (stepsLeft <= 0) return this.closeOut(`step budget (${budget.steps} steps)`);
    if (budget.tokens && cp.promptTokens + cp.completionTokens >= budget.tokens) return this.closeOut(`token budget (${budget.tokens} tokens)`);
    if (deadline && this.now() >= deadline) return this.closeOut(`time budget (${budget.seconds} s)`);
    const over = this.overBudget();
    if (over) {
      if (!cp.warnings.includes(over)) cp.warnings.push(over);
      return this.closeOut("monthly budget");
    }

    const turnSignal = deadline ? AbortSignal.any([signal, AbortSignal.timeout(Math.max(1, deadline - this.now()))]) : signal;
    let reply: Completion;
    try {
      const messages = boundConversation(cp.messages, this.specs);
      const sent = this.timing.requesting();
      reply = await this.input.llm.complete({ messages, tools: this.specs, signal: turnSignal });
      this.timing.replied(sent);
    } catch (e) {
      if (!signal.aborted && deadline && this.now() >= deadline) return this.closeOut(`time budget (${budget.seconds} s)`);
      throw e;
    }
    this.account(reply);
    if (reply.warning && !cp.warnings.includes(reply.warning)) cp.warnings.push(reply.warning);

    if (!reply.toolCalls.length) {
      const answer = reply.text?.trim() || "(the model ended the run with an empty answer)";
      const ending: Ending = { status: "completed", endReason: "answered", summary: answer, error: null };
      this.commit([this.stepRow(cp.stepNo + 1, { thought: answer, ...usageOf(reply, this.price) })], [{ role: "assistant", content: answer }], ending);
      return this.end(ending);
    }
    const turn: Turn = { reply, calls: this.callsWithin(reply, stepsLeft), results: [] };
    cp.turn = turn;
    // Stashed before any call acts, so a resume finishes this turn instead of asking again. A turn of journaled
    // calls only needs none: nothing it does takes effect before its commit's stash (an eviction before that
    // asks the model again, and no call of this reply has had any effect).
    const calls = reply.toolCalls.slice(0, turn.calls);
    if (calls.some((c) => this.actsOutside(c.name) || gateOf(this.input.goal, c, this.byName.get(c.name)))) this.stash();
    return turn;
  }

  /** A call of a tool that is not journaled acts outside the run's own writes (step-writer.ts); an unknown tool does nothing. */
  private actsOutside(name: string): boolean {
    const tool = this.byName.get(name);
    return !!tool && !tool.journaled;
  }

  /**
   * How many of the reply's calls (in order) fit in `stepsLeft`: update_plan calls are free while the run's
   * free plan updates (as many as the step budget) last.
   */
  private callsWithin(reply: Completion, stepsLeft: number): number {
    let free = this.budget.steps - (this.cp.planSteps ?? 0);
    let left = stepsLeft;
    let n = 0;
    for (const call of reply.toolCalls) {
      if (call.name === UPDATE_PLAN_TOOL && free > 0) free--;
      else if (left > 0) left--;
      else break;
      n++;
    }
    return n;
  }

  /** Phase 3: one last turn with tools disabled, in which the model writes up what it has. */
  private async closeOut(reason: string): Promise<LoopResult> {
    const { cp, specs } = this;
    const ask: Message = {
      role: "user",
      content: `The ${reason} is used up. Stop using tools. Write your final report now in markdown: what you did, what you found, and what is left to do.`,
    };
    try {
      const reply = await this.input.llm.complete({
        messages: boundConversation([...cp.messages, ask], specs),
        tools: specs,
        toolChoice: "none",
        signal: AbortSignal.any([this.signal, AbortSignal.timeout(CLOSING_GRACE_MS)]),
      });
      this.account(reply);
      const summary = reply.text?.trim() || `Stopped: the ${reason} is used up (the model wrote no report).`;
      const row = this.stepRow(cp.stepNo + 1, { thought: summary, ...usageOf(reply, this.price), error: null });
      const ending: Ending = { status: "completed", endReason: "budget_exhausted", summary, error: null };
      this.commit([row], [ask, { role: "assistant", content: summary }], ending);
      return this.end(ending);
    } catch (e) {
      if (this.input.signal.aborted || this.cancel.signal.aborted) throw e;
      const summary = `Stopped: the ${reason} is used up after ${cp.stepNo} steps; the final report could not be written.`;
      return this.end({ status: "completed", endReason: "budget_exhausted", summary, error: messageOf(e) });
    }
  }

  /**
   * Ends a turn: the checkpoint, with the turn's rows and effects among the unconfirmed ones, is stashed
   * first; then they are handed to the StepWriter, which writes them with the next group (step-writer.ts).
   */
  private commit(rows: StepRow[], pushed: Message[], ending?: Ending, effects: Effect[] = []): void {
    const { cp } = this;
    cp.stepNo += rows.length;
    if (ending) cp.ended = ending;
    const plans = rows.filter((r) => r.toolName === UPDATE_PLAN_TOOL).length;
    if (plans) cp.planSteps = Math.min(this.budget.steps, (cp.planSteps ?? 0) + plans);
    // Stored as sent: compaction is a function of the list (see context-window.ts), applied per request.
    cp.messages.push(...pushed);
    cp.turn = undefined;
    this.stash(rows, effects);
    this.timing.turnStored();
    this.writer.write(rows, effects, this.totals());
  }

  /**
   * Stashes the checkpoint with the writer's unconfirmed rows and effects (plus `rows` and `effects`, about to be
   * handed to it): what a resume writes again is always exactly what is not confirmed yet, never an older list
   * (a confirmed effect written again could put an older version of a file back).
   */
  private stash(rows: StepRow[] = [], effects: Effect[] = []): void {
    const { cp } = this;
    cp.pending = [...this.writer.unconfirmed, ...rows];
    cp.effects = [...this.writer.unconfirmedEffects, ...effects];
    this.timing.stashed(this.input.checkpoint(cp));
  }

  /**
   * The first monthly budget used up (db/spend.ts), as the sentence to record, or null: the months' totals
   * of the last confirmed write plus what this run spent since (the write of the last turn may be in flight).
   */
  private overBudget(): string | null {
    const { spent, input } = this;
    if (!spent) return null;
    const t = this.cp ? this.totals() : spent.at;
    const more = {
      costNanos: (t.costNanos ?? 0) - (spent.at.costNanos ?? 0),
      tokens: t.promptTokens + t.completionTokens - spent.at.promptTokens - spent.at.completionTokens,
    };
    const add = (s: Spent) => ({ costNanos: s.costNanos + Math.max(0, more.costNanos), tokens: s.tokens + Math.max(0, more.tokens) });
    const months = monthsAt(this.now(), input.goal.timezone);
    const goal = add(spent.goal);
    const reason = budgetReached(input.goal.params, input.env.MONTHLY_BUDGET_USD, months, goal, add(spent.global));
    if (reason) this.budgetHit ??= { month: months.goal, reason, spent: goal };
    return reason;
  }

  /** Sends the goal's usage.budget_reached event when this run found a budget used up (once per month: see notify/budget-reached.ts). */
  async budgetNotice(result: LoopResult): Promise<LoopResult> {
    const hit = this.budgetHit;
    if (hit) await notifyBudgetReached(this.input.env, this.input.goal, hit.month, hit.reason, hit.spent, this.now()).catch(() => {});
    return result;
  }

  private totals(): Totals {
    return totalsOf(this.cp, this.input.llm.model);
  }

  /** The model's price; a lookup that fails (OpenRouter unreachable, MODEL_PRICES malformed) leaves it unknown, and says why on the run. */
  private async lookUpPrice(): Promise<void> {
    const { llm } = this.input;
    let why: string;
    try {
      this.price = await priceOf(this.input.env, llm, this.now());
      if (this.price) return;
      why = `cost unknown: no price is known for ${llm.name} model ${llm.model} (add it to MODEL_PRICES)`;
    } catch (e) {
      why = `cost unknown: ${messageOf(e)}`;
    }
    if (!this.cp.warnings.includes(why)) this.cp.warnings.push(why);
  }

  /** Adds a reply's usage and cost to the run's totals. */
  private account(reply: Completion): void {
    const { cp } = this;
    const u = usageOf(reply, this.price);
    cp.promptTokens += u.promptTokens;
    cp.completionTokens += u.completionTokens;
    cp.cachedTokens = (cp.cachedTokens ?? 0) + u.cachedTokens;
    cp.reasoningTokens = (cp.reasoningTokens ?? 0) + u.reasoningTokens;
    cp.costNanos = cp.costNanos === null || cp.costNanos === undefined || u.costNanos === null ? null : cp.costNanos + u.costNanos;
  }

  private learnLinks(toolName: string, result: string): void {
    const links = this.byName.get(toolName)?.links;
    if (links) this.provenance.add(links(result));
  }

  private stepRow(stepNo: number, r: Partial<StepRow>): StepRow {
    return {
      runId: this.input.run.id,
      stepNo,
      thought: null,
      toolName: null,
      toolInput: null,
      observation: null,
      durationMs: 0,
      promptTokens: 0,
      completionTokens: 0,
      cachedTokens: 0,
      reasoningTokens: 0,
      costNanos: null,
      error: null,
      createdAt: this.now(),
      ...r,
    };
  }

  private end(e: Ending): LoopResult {
    return { ...e, error: e.error ?? (this.cp.warnings.length ? this.cp.warnings.join("; ") : null), totals: this.totals() };
  }

  private cancelled(): LoopResult {
    return this.end({ status: "cancelled", endReason: "cancelled", summary: null, error: null });
  }
}
