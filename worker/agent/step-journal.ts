/**
 * A run's unwritten steps in its agent's own SQLite: the step rows and journaled effects the StepWriter has
 * not confirmed written to D1 and R2 yet (agent/step-writer.ts). Like the ConversationLog, each checkpoint
 * writes only what is new (a row once, when its step is taken) and deletes what has been confirmed since,
 * so what a step stores follows that step, not the number of steps waiting for the next grouped write.
 *
 * Its writes are synchronous Durable Object storage calls made together with the fiber's stash, so they
 * commit with it. A resume reads the rows back and writes them again (all idempotent); a row confirmed
 * just before a crash, and not deleted yet, is written again harmlessly.
 */
import type { StepRow } from "../db/schema";
import type { Effect } from "../tools/tool";
import type { Sql } from "./conversation-log";

/** `next`: the seq of the next effect (effects keep the order they were taken in: a later write of a path wins). */
type Stored = { steps: Set<number>; outputs: Set<string>; next: number };

export class StepJournal {
  private ready = false;
  /** What the table holds per run, as this instance wrote or read it (a new instance reads it back on resume). */
  private stored = new Map<string, Stored>();

  constructor(private readonly sql: Sql) {}

  private ensure(): void {
    if (this.ready) return;
    this
      .sql`CREATE TABLE IF NOT EXISTS run_unwritten (run_id TEXT NOT NULL, kind TEXT NOT NULL, id TEXT NOT NULL, seq INTEGER NOT NULL, body TEXT NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (run_id, kind, id))`;
    this.ready = true;
  }

  /** Makes the table hold exactly `pending` and `effects` for the run: adds the new ones, deletes the rest. Returns the bytes written. */
  sync(runId: string, pending: StepRow[], effects: Effect[], now = Date.now()): number {
    this.ensure();
    const stored = this.storedOf(runId);
    let bytes = 0;
    const keep: Stored = { steps: new Set(pending.map((r) => r.stepNo)), outputs: new Set(effects.map((e) => e.output.id)), next: stored.next };
    for (const n of stored.steps) if (!keep.steps.has(n)) this.sql`DELETE FROM run_unwritten WHERE run_id = ${runId} AND kind = 'step' AND id = ${String(n)}`;
    for (const id of stored.outputs) if (!keep.outputs.has(id)) this.sql`DELETE FROM run_unwritten WHERE run_id = ${runId} AND kind = 'effect' AND id = ${id}`;
    for (const r of pending) {
      if (stored.steps.has(r.stepNo)) continue;
      const body = JSON.stringify(r);
      bytes += body.length;
      this
        .sql`INSERT OR REPLACE INTO run_unwritten (run_id, kind, id, seq, body, at) VALUES (${runId}, 'step', ${String(r.stepNo)}, ${r.stepNo}, ${body}, ${now})`;
    }
    for (const e of effects) {
      if (stored.outputs.has(e.output.id)) continue;
      const body = JSON.stringify(e);
      bytes += body.length;
      this
        .sql`INSERT OR REPLACE INTO run_unwritten (run_id, kind, id, seq, body, at) VALUES (${runId}, 'effect', ${e.output.id}, ${keep.next++}, ${body}, ${now})`;
    }
    this.stored.set(runId, keep);
    return bytes;
  }

  /** The run's unwritten step rows and effects, in order. */
  read(runId: string): { pending: StepRow[]; effects: Effect[] } {
    this.ensure();
    const rows = this.sql<{ kind: string; body: string }>`SELECT kind, body FROM run_unwritten WHERE run_id = ${runId} ORDER BY kind, seq`;
    return {
      pending: rows.filter((r) => r.kind === "step").map((r) => JSON.parse(r.body) as StepRow),
      effects: rows.filter((r) => r.kind === "effect").map((r) => JSON.parse(r.body) as Effect),
    };
  }

  /** Deletes the run's rows, and any left by a run last written before `staleBefore` (see ConversationLog.drop). */
  drop(runId: string, staleBefore: number): void {
    this.ensure();
    this.sql`DELETE FROM run_unwritten WHERE run_id = ${runId} OR at < ${staleBefore}`;
    this.stored.delete(runId);
  }

  private storedOf(runId: string): Stored {
    let s = this.stored.get(runId);
    if (!s) {
      // First sync of this run in this instance: what an earlier instance left is read back.
      const rows = this.sql<{ kind: string; id: string; seq: number }>`SELECT kind, id, seq FROM run_unwritten WHERE run_id = ${runId}`;
      s = {
        steps: new Set(rows.filter((r) => r.kind === "step").map((r) => Number(r.id))),
        outputs: new Set(rows.filter((r) => r.kind === "effect").map((r) => r.id)),
        next: Math.max(0, ...rows.map((r) => r.seq + 1)),
      };
      this.stored.set(runId, s);
    }
    return s;
  }
}
