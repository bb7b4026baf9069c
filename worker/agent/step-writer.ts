/**
 * The run loop's pipelined step writes: the D1 write of a turn overlaps the next LLM call, so its round
 * trip leaves the per-step critical path.
 *
 * The contract:
 * - Before `write(rows, totals)`, the caller stashes a checkpoint holding `[...unconfirmed, ...rows]`
 *   (stash is synchronous). Durability then does not depend on D1: a resume rewrites those rows, and
 *   the write is idempotent (ON CONFLICT DO NOTHING), so an eviction in between loses and duplicates nothing.
 * - Writes stay in order and at most one is in flight: `write` queues its rows behind the previous write
 *   and resolves once that PREVIOUS write is confirmed.
 * - No tool may run before the previous turn's rows are confirmed: the loop awaits `confirmed()` first.
 *   A write that fails (after STEP_WRITE_RETRY_MS) rejects `confirmed()` and the next `write` with
 *   StepsNotRecorded, which stops the run with its steps so far recorded, before more side effects.
 * - A write that finds a cancel requested (or the run no longer running) calls `onCancelRequested`.
 * - `confirmed()` at the end of a run waits for the last write.
 */
import type { Db } from "../db/client";
import type { Totals } from "../db/run-state";
import type { StepRow } from "../db/schema";
import type { Spent } from "../db/spend";
import { recordSteps } from "../db/steps";

/** A turn's step write is idempotent (ON CONFLICT DO NOTHING), so a D1 hiccup is retried after these pauses. */
const STEP_WRITE_RETRY_MS = [250, 1000];

/** A turn's step rows could not be written: the loop stops before any further tool runs. */
export class StepsNotRecorded extends Error {
  constructor(rows: StepRow[], cause: unknown) {
    const first = rows[0]?.stepNo;
    const last = rows.at(-1)?.stepNo;
    const which = first === last ? `step ${first}` : `steps ${first}–${last}`;
    super(`could not record ${which} in D1: ${cause instanceof Error ? cause.message : String(cause)}. No tool ran after ${first === last ? "it" : "them"}.`);
  }
}

export class StepWriter {
  private inflight: Promise<void> = Promise.resolve();
  /** Rows handed to `write` whose write is not confirmed yet: the checkpoint must carry them. */
  unconfirmed: StepRow[] = [];

  constructor(
    private readonly db: Db,
    private readonly runId: string,
    private readonly now: () => number,
    private readonly onCancelRequested: () => void,
    /** The run's goal, so each write adds to its month's spending (db/spend.ts); and who hears the months' totals. */
    private readonly goal?: { id: string; timezone: string },
    private readonly onSpent?: (spent: { goal: Spent; global: Spent }, totals: Totals) => void,
  ) {}

  /** Queues the write of `rows` and the run's `totals`; resolves when the previous write is confirmed (see the file comment). */
  write(rows: StepRow[], totals: Totals): Promise<void> {
    this.unconfirmed = [...this.unconfirmed, ...rows];
    const previous = this.inflight;
    this.inflight = previous
      .then(() => this.writeWithRetries(rows, totals))
      .then(({ cancelRequested, spent }) => {
        this.unconfirmed = this.unconfirmed.filter((r) => !rows.includes(r));
        if (spent) this.onSpent?.(spent, totals);
        if (cancelRequested) this.onCancelRequested();
      });
    // Observed by the next write or by confirmed(); this only keeps it from counting as unhandled meanwhile.
    this.inflight.catch(() => {});
    return previous;
  }

  /** Resolves once every queued write is confirmed; rejects with StepsNotRecorded when one failed. */
  confirmed(): Promise<void> {
    return this.inflight;
  }

  private async writeWithRetries(rows: StepRow[], totals: Totals): ReturnType<typeof recordSteps> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await recordSteps(this.db, this.runId, rows, totals, this.now(), this.goal);
      } catch (e) {
        if (attempt >= STEP_WRITE_RETRY_MS.length) throw new StepsNotRecorded(rows, e);
        await new Promise((r) => setTimeout(r, STEP_WRITE_RETRY_MS[attempt]));
      }
    }
  }
}
