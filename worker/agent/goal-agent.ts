/**
 * One agent per goal (`getAgentByName(env.GOAL_AGENT, goalId)`): lifecycle, RPC and persistence only.
 * The queue consumer calls `acceptRun`; the run executes in a durable fiber (`startFiber`, keyed by
 * the run id so a redelivered message cannot start it twice) and checkpoints after every turn. After
 * an eviction, `onFiberRecovered` (or a later `acceptRun` from the reaper's re-enqueue) resumes the
 * run from its last checkpoint in a new fiber; it never starts over.
 *
 * The checkpoint lives in the agent's own SQLite, not in the fiber's stash: the messages in the
 * ConversationLog, the rest with the unwritten steps in the StepJournal (one row per run, replaced each turn
 * in the same statement as the turn's rows). The fiber gives the run its recovery and idempotency.
 *
 * A run that waits for a person ends its fiber (holding nothing while it waits); its checkpoint row stays,
 * and the decision's hand-over resumes it in a new fiber like any interrupted run.
 */
import { Agent, type FiberContext, type FiberInspection, type FiberRecoveryContext } from "agents";
import type { Env } from "../lib/env";
import { type Db, dbFor } from "../db/client";
import { providerFor } from "../llm/provider";
import { redactSecrets } from "../lib/redact";
import { notifyRunEnded } from "../notify/run-ended";
import { toolsFor } from "../tools/registry";
import { type McpToolbox, mcpToolsFor } from "../tools/mcp-tools";
import type { Message } from "../llm/types";
import { ConversationLog } from "./conversation-log";
import { StepJournal, withoutContent } from "./step-journal";
import type { Effect } from "../tools/tool";
import { runLoop, type Checkpoint, type LoopResult, type Waiting } from "./run-loop";
import { parseArguments } from "./tool-calls";
import { notifyRunWaiting } from "../notify/run-waiting";
import { getRun } from "../db/runs";
import { openWaitOf } from "../db/waits";
import { MEMORY_DIGEST } from "./prompt";
import { endRun, startRun, type Totals } from "../db/run-state";

const FIBER = "run";
/** The idempotency key of a run's first fiber (n = 0) and of its n-th resume. */
const fiberKey = (runId: string, n: number) => (n === 0 ? `run:${runId}` : `run:${runId}:resume:${n}`);
/** Longer than the longest wait (7 days, MAX_WAIT_SECONDS): a waiting run's fiber keeps its checkpoint. */
const FIBER_RETENTION_MS = 9 * 24 * 3600_000;
/**
 * A run's messages untouched this long belong to a run that ended elsewhere (the reaper fails a run silent
 * for a day; a wait lasts 7 days at most): swept whenever a run of this goal ends.
 */
const MESSAGES_RETENTION_MS = 10 * 24 * 3600_000;

/**
 * The checkpoint as stored: its messages live in the ConversationLog, the checkpoint names how many; its
 * unwritten steps and effects live in the StepJournal (`journaled`). (A fiber's stash from before either carries
 * `messages`, `pending` and `effects` itself; it is read as it is.)
 */
type StoredCheckpoint = Omit<Checkpoint, "messages" | "pending"> & {
  messageCount?: number;
  messages?: Message[];
  pending?: Checkpoint["pending"];
  journaled?: true;
};
type Turn = NonNullable<Checkpoint["turn"]>;
/** The effects the turn under way has taken so far: the journal keeps them (with their files' content), the checkpoint names them. */
const turnEffects = (turn?: Turn) => turn?.results.flatMap((r) => r?.effects ?? []) ?? [];
/**
 * The turn as stored: a journaled result without its effects' content (in the journal) nor its input (the parsed
 * arguments, again in the reply): a file's content is not repeated in the checkpoint row, one SQLite value of at most 2 MB.
 */
const storedTurn = (turn: Turn): Turn => ({
  ...turn,
  results: turn.results.map((r) => (r?.effects?.length ? { ...r, input: undefined, effects: r.effects.map(withoutContent) } : r)),
});
/**
 * A stored turn with its journaled results whole again: effects from the journal, input from the reply. A result
 * whose effect is not there is run again: a journaled call depends only on its arguments, and its effect is either
 * written already (the commit leaves out results recorded before a wait) or not at all.
 */
const restoredTurn = (turn: Turn, from: Map<string, Effect>): Turn => ({
  ...turn,
  results: turn.results.map((r, i) => {
    if (!r?.effects?.length) return r;
    const effects = r.effects.map((e) => from.get(e.output.id));
    return effects.every((e) => e !== undefined) ? { ...r, input: parseArguments(turn.reply.toolCalls[i]?.arguments ?? ""), effects } : null;
  }),
});

/**
 * A run's checkpoint row: the loop's checkpoint, and the ending once decided (so a failed D1 write can be redone).
 * Runs checkpointed by earlier versions kept it in their fibers' stashes, which are read when the row is absent.
 */
type RunSnapshot = { runId: string; cp: StoredCheckpoint | null; ending?: LoopResult };

/** A checkpoint with no ending, whose fiber settled: its run waits for a person, and resumes from it. */
const waitsToResume = (snap: RunSnapshot | null | undefined) => !!snap?.cp && !snap.ending;

/** The newest checkpoint among a run's fibers' stashes (the newest fiber may have been cut off before stashing). */
function latestStash(fibers: FiberInspection[]): RunSnapshot | null {
  for (let i = fibers.length - 1; i >= 0; i--) if (fibers[i].snapshot) return fibers[i].snapshot as RunSnapshot;
  return null;
}

export type Acceptance = { accepted: boolean; state: "started" | "resumed" | "running" | "ended" };

export class GoalAgent extends Agent<Env> {
  /** Runs executing in this isolate, with the controller `cancelRun` aborts. */
  private live = new Map<string, AbortController>();
  private conversation = new ConversationLog(this.sql.bind(this));
  private unwritten = new StepJournal(this.sql.bind(this));

  /**
   * RPC from the queue consumer. Idempotent: the same run id never executes twice. No D1 here: the
   * acceptance is the fiber row in this agent's own storage, and the fiber's first D1 batch decides
   * whether the run can start (so the consumer's invocation, which holds up the next batch, stays short).
   */
  async acceptRun(runId: string): Promise<Acceptance> {
    if (this.live.has(runId)) return { accepted: false, state: "running" };
    const fibers = await this.fibersOf(runId);
    const newest = fibers.at(-1);
    if (!newest) return this.launch(runId, null, fiberKey(runId, 0), "started");
    const own = this.snapshotOf(runId);
    // The fiber body returns only once the run has ended (a crash or a D1 failure leaves it interrupted or errored).
    if (newest.status === "completed" && !waitsToResume(own ?? (newest.snapshot as RunSnapshot | null))) return { accepted: false, state: "ended" };
    // A fiber exists but is not running here: it was interrupted (eviction, restart). Resume from its checkpoint.
    return this.launch(runId, own ?? latestStash(fibers), fiberKey(runId, fibers.length), "resumed");
  }

  /**
   * The run's fibers, oldest first: `run:<id>`, then one `run:<id>:resume:<n>` per resume. Looked up by key
   * (listFibers caps its page at 100, and a busy goal keeps more settled fibers than that).
   */
  private async fibersOf(runId: string): Promise<FiberInspection[]> {
    const found: FiberInspection[] = [];
    for (let n = 0; ; n++) {
      const f = await this.inspectFiberByKey(fiberKey(runId, n));
      if (!f) return found;
      found.push(f);
    }
  }

  /** RPC from POST /runs/:id/cancel: stop now if the run executes here (the flag in D1 covers the rest). */
  async cancelRun(runId: string): Promise<boolean> {
    const ctl = this.live.get(runId);
    ctl?.abort("cancelled");
    return !!ctl;
  }

  /** True while the run executes in this agent (tests and the reaper's diagnostics). */
  async isLive(runId: string): Promise<boolean> {
    return this.live.has(runId);
  }

  async onFiberRecovered(ctx: FiberRecoveryContext) {
    if (ctx.name !== FIBER) return;
    const runId = (ctx.metadata?.runId as string | undefined) ?? (ctx.snapshot as RunSnapshot | null)?.runId;
    if (!runId) return { status: "error" as const, error: "interrupted run fiber without a run id" };
    const fibers = await this.fibersOf(runId);
    const snap = this.snapshotOf(runId) ?? (ctx.snapshot as RunSnapshot | null) ?? latestStash(fibers);
    const res = await this.launch(runId, snap, fiberKey(runId, fibers.length), "resumed");
    return { status: "completed" as const, metadata: { runId, recovery: res.state } };
  }

  /** The run's checkpoint row (StepJournal), or null. */
  private snapshotOf(runId: string): RunSnapshot | null {
    const row = this.unwritten.checkpoint(runId);
    return row === null ? null : (JSON.parse(row) as RunSnapshot);
  }

  private async launch(runId: string, snap: RunSnapshot | null, key: string, state: "started" | "resumed"): Promise<Acceptance> {
    if (this.live.has(runId)) return { accepted: false, state: "running" };
    // Registered before startFiber so a concurrent accept sees it at once.
    const ctl = new AbortController();
    this.live.set(runId, ctl);
    try {
      const res = await this.startFiber(FIBER, (ctx) => this.execute(runId, snap, ctx, ctl, state === "resumed"), { idempotencyKey: key, metadata: { runId } });
      if (!res.accepted) {
        this.live.delete(runId);
        return { accepted: false, state: "running" };
      }
      return { accepted: true, state };
    } catch (e) {
      this.live.delete(runId);
      throw e;
    }
  }

  /**
   * The fiber body: the run's ending (from the snapshot when a previous fiber decided it already, else by
   * running the run), then the ending recorded. Whatever happens, the run ends in a terminal state here
   * (or stays resumable).
   */
  private async execute(runId: string, snap: RunSnapshot | null, ctx: FiberContext, ctl: AbortController, resume: boolean): Promise<void> {
    const db = dbFor(this.env.DB);
    // A checkpoint from an earlier version's fiber stash is not copied into a row: that stash stays (settled fibers
    // are kept FIBER_RETENTION_MS), so an eviction before this fiber's first turn finds it again. A copy would also
    // outlive the run's end (the drop below runs before this fiber settles) and bring the ended run back.
    let waiting: Waiting | null = null;
    try {
      const ending = snap?.ending ?? (await this.runToEnding(db, runId, snap?.cp ?? null, ctx, ctl, resume));
      if (ending?.status === "waiting") {
        waiting = ending;
        await notifyRunWaiting(this.env, runId, ending.wait).catch((e) => console.error(JSON.stringify({ at: "notify.waiting", runId, error: String(e) })));
      } else if (ending) await this.recordEnding(db, runId, ending);
    } finally {
      if (this.live.get(runId) === ctl) this.live.delete(runId);
    }
    // Decided while this fiber was still letting go (its acceptRun found the run live and did nothing):
    // resume it now rather than leave it to the reaper.
    if (waiting && (await getRun(db, runId))?.status === "pending")
      setTimeout(() => void this.acceptRun(runId).catch((e) => console.error(JSON.stringify({ at: "resume.after-wait", runId, error: String(e) }))), 0);
  }

  /**
   * Starts (or resumes) the run and runs the loop to its ending, which is stashed so that a failed D1 write
   * of the end can be redone. Null when there is nothing to record: the run is gone or over, or it could not
   * be resumed and was failed here.
   */
  private async runToEnding(
    db: Db,
    runId: string,
    from: StoredCheckpoint | null,
    ctx: FiberContext,
    ctl: AbortController,
    resume: boolean,
  ): Promise<LoopResult | Waiting | null> {
    const env = this.env;
    // this.name is the goal's id (getAgentByName(env.GOAL_AGENT, goalId)). The consumer has acked by
    // now, so a D1 hiccup here is retried (the SDK's jittered backoff) rather than left to the reaper,
    // which would notice the pending run only minutes later. A retry may follow a batch that committed
    // without an answer, so it also takes the run as `running`.
    const { run, before, goal, memories, spend } = await this.retry(
      (attempt) => startRun(db, runId, this.name, { resume: resume || attempt > 1, memories: MEMORY_DIGEST }),
      { maxAttempts: 5 },
    );
    if (!run) {
      // Gone, ended or cancelled before it started: nothing to do. Marked running by an agent that left no
      // fiber behind (storage reset, or a bug): nothing to resume from, so it fails.
      if (before === "running") await this.failUnresumable(db, runId);
      // Waiting (a recovered fiber, or a stale message): make sure the person was told, should the fiber that
      // opened the wait have been cut off before telling (the notice's claim keeps it to one sender).
      if (before === "waiting") {
        const wait = await openWaitOf(db, runId);
        if (wait) await notifyRunWaiting(env, runId, wait).catch((e) => console.error(JSON.stringify({ at: "notify.waiting", runId, error: String(e) })));
      }
      return null;
    }
    if (run.cancelRequestedAt) ctl.abort("cancelled");
    // The conversation so far, and how much of it the log holds already.
    const { messages: carried, messageCount, journaled, ...rest } = from ?? {};
    let last: Checkpoint | null = null;
    let unreadable: string | null = null;
    try {
      const unwritten = journaled ? this.unwritten.read(runId) : null;
      last = from
        ? {
            ...(rest as Omit<Checkpoint, "messages">),
            messages: carried ?? this.conversation.read(runId, messageCount ?? 0),
            ...(unwritten
              ? { pending: unwritten.pending, effects: unwritten.effects, turn: from?.turn && restoredTurn(from.turn, unwritten.turnEffects) }
              : { pending: from?.pending ?? [] }),
          }
        : null;
    } catch (e) {
      unreadable = `the run's checkpoint could not be read (${e instanceof Error ? e.message : String(e)}); start a new run`;
    }
    let logged = carried ? 0 : (messageCount ?? 0);
    const runTotals = { stepsExecuted: run.stepsExecuted, promptTokens: run.promptTokens, completionTokens: run.completionTokens };
    let ending: LoopResult | Waiting;
    if (!goal) ending = failed("the goal was deleted", runTotals);
    else if (unreadable) ending = failed(unreadable, runTotals);
    else {
      let mcp: McpToolbox | null = null;
      try {
        // The goal's MCP servers' tools (a listing refreshed first when stale); each connects on its first call.
        mcp = await mcpToolsFor(db, env, goal);
        ending = await runLoop({
          env,
          db,
          goal,
          run,
          llm: providerFor(env, goal),
          tools: [...toolsFor(goal, env), ...mcp.tools],
          signal: AbortSignal.any([ctx.signal, ctl.signal]),
          resumeFrom: last,
          memories,
          spend,
          onWritten: (rows, effects) => this.unwritten.forget(runId, rows, effects),
          checkpoint: (cp) => {
            last = cp;
            const { messages, pending, effects, turn, ...small } = cp;
            const appended = this.conversation.append(runId, messages, logged);
            logged = messages.length;
            const snap: RunSnapshot = { runId, cp: { ...small, ...(turn ? { turn: storedTurn(turn) } : {}), messageCount: logged, journaled: true } };
            // The bytes written, for run.timing (bench:agent): the checkpoint row is small, since it holds one turn at most.
            return appended + this.unwritten.sync(runId, pending, effects ?? [], turnEffects(turn), JSON.stringify(snap));
          },
        });
      } catch (e) {
        // Setup errors (no key, bad provider name) and D1 failures: the run fails with the reason.
        ending = failed(e instanceof Error ? e.message : String(e), {
          stepsExecuted: last?.stepNo ?? 0,
          promptTokens: last?.promptTokens ?? 0,
          completionTokens: last?.completionTokens ?? 0,
        });
      } finally {
        await mcp?.close();
      }
    }
    // A waiting run keeps its checkpoint row (the resume reads it); it has no ending yet.
    if (ending.status === "waiting") return ending;
    // The ending alone is enough to record it again after a crash: it replaces the checkpoint.
    this.unwritten.save(runId, JSON.stringify({ runId, cp: null, ending } satisfies RunSnapshot));
    return ending;
  }

  /** Ends the run with `ending` (once: a redone end finds it ended), sends its notification, trims the fiber ledger. */
  private async recordEnding(db: Db, runId: string, ending: LoopResult): Promise<void> {
    // Provider error texts end up on the run, its webhook and the API: configured secrets never do.
    const end = ending.error ? { ...ending, error: redactSecrets(this.env, ending.error) } : ending;
    // A redone end (resumed after a crash) finds the run ended already and lets notifyRunEnded check.
    const { notify } = await endRun(db, runId, end, end.totals);
    if (notify) await notifyRunEnded(this.env, runId);
    // Only now: the checkpoint row holds the ending, which a process cut off before the notification was sent
    // resumes from to send it (endRun's `notify` stays true until notifyRunEnded has claimed it).
    this.conversation.drop(runId, Date.now() - MESSAGES_RETENTION_MS);
    this.unwritten.drop(runId, Date.now() - MESSAGES_RETENTION_MS);
    // The fiber ledger keeps settled rows; a week is plenty to inspect one, and keeps the ledger small.
    await this.deleteFibers({ settledBefore: new Date(Date.now() - FIBER_RETENTION_MS) });
  }

  /** A run marked running with no checkpoint to resume from fails with the reason (and its notification). */
  private async failUnresumable(db: Db, runId: string): Promise<void> {
    const error = "the run was interrupted and no checkpoint exists to resume it from; start a new run";
    const { notify } = await endRun(db, runId, { status: "failed", endReason: "error", summary: null, error }, null);
    if (notify) await notifyRunEnded(this.env, runId);
    this.conversation.drop(runId, Date.now() - MESSAGES_RETENTION_MS);
    this.unwritten.drop(runId, Date.now() - MESSAGES_RETENTION_MS);
  }
}

const failed = (error: string, totals: Totals): LoopResult => ({ status: "failed", endReason: "error", summary: null, error, totals });
