/**
 * Where a run's time goes, logged at its end as `run.timing` (bench:agent reads it): the LLM's time, the
 * tools' time, and our own overhead per step — the time from an LLM reply to the next request, minus the
 * tools' time in between.
 */
export class RunTiming {
  llmMs = 0;
  toolMs = 0;
  readonly overheadMs: number[] = [];
  /** Bytes each turn's checkpoints wrote (the new messages and the snapshot): flat when storage is append-only. */
  readonly stashBytes: number[] = [];
  private replyAt: number | null = null;
  private turnToolMs = 0;
  private turnStashBytes = 0;

  /** A checkpoint of the current turn wrote `bytes`. */
  // biome-ignore lint/suspicious/noConfusingVoidType: takes what the checkpoint callback returned, which may be nothing
  stashed(bytes: number | void): void {
    this.turnStashBytes += bytes ?? 0;
  }

  /** The turn's last checkpoint is written. */
  turnStored(): void {
    this.stashBytes.push(this.turnStashBytes);
    this.turnStashBytes = 0;
  }

  /** Just before an LLM request: closes the overhead span opened by the previous reply. Returns the send time. */
  requesting(): number {
    if (this.replyAt !== null) this.overheadMs.push(Date.now() - this.replyAt - this.turnToolMs);
    return Date.now();
  }

  /** The reply to the request sent at `sent` arrived. */
  replied(sent: number): void {
    this.llmMs += Date.now() - sent;
    this.replyAt = Date.now();
    this.turnToolMs = 0;
  }

  /** The tools of this turn took `ms`. */
  toolsTook(ms: number): void {
    this.turnToolMs = ms;
    this.toolMs += ms;
  }

  log(run: { runId: string; status: string; steps: number; writes: number; wallMs: number }): void {
    const o = [...this.overheadMs].sort((a, b) => a - b);
    console.log(
      JSON.stringify({
        at: "run.timing",
        ...run,
        llmMs: this.llmMs,
        toolMs: this.toolMs,
        overheadMedianMs: o[Math.floor(o.length / 2)] ?? null,
        overheadMs: o,
        stashBytes: this.stashBytes,
      }),
    );
  }
}
