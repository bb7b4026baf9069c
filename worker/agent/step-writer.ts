/**
 * The run loop's step writes, grouped: the rows of the turns taken within STEP_FLUSH_MS (and the effects
 * their journaled calls left: output rows, files) go to D1 in one batch, and the files to R2 right after it.
 * Locally every D1 or R2 call is CPU on the one workerd thread, and on Cloudflare a round trip plus rows
 * billed: per-turn writes were most of a step's cost. Grouping also keeps a long run well inside D1's
 * queries per invocation (a Durable Object's fiber is one invocation; 1,000 queries on the paid plan).
 *
 * The contract:
 * - Before `write(rows, effects, totals)`, the caller stashes a checkpoint holding `unconfirmed` plus the new
 *   rows and effects (stash is synchronous). Durability then does not depend on D1: a resume writes them
 *   again, and the writes are idempotent (steps ON CONFLICT DO NOTHING, outputs keyed by id, a file put
 *   again with the same content), so an eviction in between loses and duplicates nothing.
 * - One write in flight at a time, in order; rows handed over meanwhile wait for the next one.
 * - A tool that is not `journaled` (it acts outside: fetches, webhooks, email, MCP, D1 reads) runs only
 *   once every earlier step is recorded: the loop awaits `confirmed()`, which writes what is queued now.
 *   Journaled calls need not wait: what they do is written after (and with) the earlier steps.
 * - A file is put in R2 only after the D1 batch recording its step has committed: a file never exists
 *   without the step that wrote it.
 * - A write that fails (after STEP_WRITE_RETRY_MS) is the run's end: `check()` and `confirmed()` throw
 *   StepsNotRecorded from then on, and nothing queued after it is written or takes effect.
 * - A write that finds a cancel requested (or the run no longer running) calls `onCancelRequested`.
 * - `confirmed()` at the end of a run (or before it waits for a person) writes the rest.
 */
import type { Db } from "../db/client";
import type { Totals } from "../db/run-state";
import type { StepRow } from "../db/schema";
import type { Spent } from "../db/spend";
import { recordSteps } from "../db/steps";
import type { Env } from "../lib/env";
import { putFile } from "../tools/files.tool";
import type { Effect } from "../tools/tool";

/**
 * How long rows may wait to be grouped with the next turns'. A run whose model answers in seconds gets
 * each turn written this long after it (the write overlaps the next model call); a fast run gets one
 * write per this many milliseconds, whatever its number of turns.
 */
export const STEP_FLUSH_MS = 100;
/** A write is idempotent, so a D1 or R2 hiccup is retried after these pauses. */
const STEP_WRITE_RETRY_MS = [250, 1000];
/** Unwritten rows beyond this make the loop wait for the write before its next tool: a batch stays ~13 INSERTs of steps. */
export const MAX_UNCONFIRMED_ROWS = 90;
/** Unwritten file content beyond this (held in memory until written) also makes the loop wait: an isolate has 128 MB. */
export const MAX_UNCONFIRMED_FILE_CHARS = 8 * 1024 * 1024;
/** A write in flight this long is being retried (a batch takes milliseconds): the loop waits for it before asking the model again. */
const STALLED_MS = 1000;

/** Steps could not be written (D1) or their files saved (R2): the run stops, and nothing after them takes effect. */
export class StepsNotRecorded extends Error {
  constructor(rows: StepRow[], cause: unknown, what: "record" | "save the files of" = "record") {
    const first = rows[0]?.stepNo;
    const last = rows.at(-1)?.stepNo;
    const which = first === undefined ? "the run's steps" : first === last ? `step ${first}` : `steps ${first}–${last}`;
    const reason = cause instanceof Error ? cause.message : String(cause);
    const them = first === last ? "it" : "them";
    super(
      what === "record"
        ? `could not record ${which} in D1: ${reason}. Nothing after ${them} took effect.`
        : `could not save the files of ${which} in R2: ${reason}. The steps are recorded; nothing after ${them} took effect.`,
    );
  }
}

/** The size of a file effect's content (UTF-16 code units: what the isolate holds). */
const fileSize = (e: Effect) => e.file?.content.length ?? 0;

export class StepWriter {
  /** Rows and effects handed to `write` whose write is not confirmed yet: the checkpoint must carry them. */
  unconfirmed: StepRow[] = [];
  unconfirmedEffects: Effect[] = [];
  /** Grouped writes made so far (run.timing reports them). */
  writes = 0;
  private queued: { rows: StepRow[]; effects: Effect[]; totals: Totals | null } = { rows: [], effects: [], totals: null };
  private inflight: Promise<void> | null = null;
  private inflightSince = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private failure: StepsNotRecorded | null = null;

  constructor(
    private readonly env: Env,
    private readonly db: Db,
    private readonly runId: string,
    private readonly now: () => number,
    private readonly onCancelRequested: () => void,
    /** The run's goal, so each write adds to its month's spending (db/spend.ts); and who hears the months' totals. */
    private readonly goal?: { id: string; timezone: string },
    private readonly onSpent?: (spent: { goal: Spent; global: Spent }, totals: Totals) => void,
    /** Told of each confirmed write, so the agent's step journal drops those rows at once. */
    private readonly onWritten?: (rows: StepRow[], effects: Effect[]) => void,
  ) {}

  /** Queues `rows`, `effects` and the run's `totals` for the next write (within STEP_FLUSH_MS). */
  write(rows: StepRow[], effects: Effect[], totals: Totals): void {
    this.unconfirmed = [...this.unconfirmed, ...rows];
    this.unconfirmedEffects = [...this.unconfirmedEffects, ...effects];
    const q = this.queued;
    this.queued = { rows: [...q.rows, ...rows], effects: [...q.effects, ...effects], totals };
    if (!this.timer && !this.inflight) this.timer = setTimeout(() => void this.flush(), STEP_FLUSH_MS);
  }

  /** The file content among `unconfirmedEffects`. */
  get unconfirmedFileChars(): number {
    return this.unconfirmedEffects.reduce((n, e) => n + fileSize(e), 0);
  }

  /** Throws StepsNotRecorded when a write failed. */
  check(): void {
    if (this.failure) throw this.failure;
  }

  /** True while a write has been in flight for longer than a batch takes: it is being retried. */
  stalled(now = Date.now()): boolean {
    return !!this.inflight && now - this.inflightSince > STALLED_MS;
  }

  /** Writes what is queued now and resolves once everything handed over is confirmed; rejects with StepsNotRecorded when a write failed. */
  async confirmed(): Promise<void> {
    for (;;) {
      this.check();
      if (this.inflight) await this.inflight;
      else if (this.queued.totals) await this.flush();
      else return;
    }
  }

  private flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const { rows, effects, totals } = this.queued;
    if (!totals || this.inflight || this.failure) return this.inflight ?? Promise.resolve();
    this.queued = { rows: [], effects: [], totals: null };
    this.writes++;
    this.inflightSince = Date.now();
    this.inflight = this.writeWithRetries(rows, effects, totals).then(
      ({ cancelRequested, spent }) => {
        this.unconfirmed = this.unconfirmed.filter((r) => !rows.includes(r));
        this.unconfirmedEffects = this.unconfirmedEffects.filter((e) => !effects.includes(e));
        this.inflight = null;
        this.onWritten?.(rows, effects);
        if (spent) this.onSpent?.(spent, totals);
        if (cancelRequested) this.onCancelRequested();
        if (this.queued.totals && !this.timer) this.timer = setTimeout(() => void this.flush(), STEP_FLUSH_MS);
      },
      (e) => {
        this.inflight = null;
        this.failure = e instanceof StepsNotRecorded ? e : new StepsNotRecorded(rows, e);
      },
    );
    return this.inflight;
  }

  /** The D1 batch, then the files (the last write of a path wins), each retried: all of it is idempotent. */
  private async writeWithRetries(rows: StepRow[], effects: Effect[], totals: Totals): ReturnType<typeof recordSteps> {
    const outputs = effects.map((e) => e.output);
    const recorded = await this.retried(rows, "record", () => recordSteps(this.db, this.runId, rows, totals, this.now(), this.goal, outputs));
    const files = new Map(effects.flatMap((e) => (e.file ? [[e.file.key, e.file] as const] : [])));
    for (const f of files.values()) await this.retried(rows, "save the files of", () => putFile(this.env, f));
    return recorded;
  }

  private async retried<T>(rows: StepRow[], what: ConstructorParameters<typeof StepsNotRecorded>[2], attempt: () => Promise<T>): Promise<T> {
    for (let n = 0; ; n++) {
      try {
        return await attempt();
      } catch (e) {
        if (n >= STEP_WRITE_RETRY_MS.length) throw new StepsNotRecorded(rows, e, what);
        await new Promise((r) => setTimeout(r, STEP_WRITE_RETRY_MS[n]));
      }
    }
  }
}
