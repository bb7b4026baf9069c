/**
 * A run's checkpoint and unwritten steps in its agent's own SQLite: the checkpoint's small part (`checkpoint`:
 * step count, totals, the turn under way, a message count; the messages are in the ConversationLog), the step
 * rows and journaled effects the StepWriter has not confirmed written to D1 and R2 yet (agent/step-writer.ts),
 * and the effects of the turn under way (`turn`: taken by a call whose result is stashed, not yet committed).
 * Like the ConversationLog, each checkpoint writes only what is new (a row once, when its step or effect is
 * taken; the checkpoint row replaced) and deletes what has been confirmed since, so what a step stores follows
 * that step, not the number of steps waiting for the next grouped write. A file's content is kept once, raw,
 * in its own column (never in the checkpoint row, one SQLite value of at most 2 MB): a file is 1 MiB at most
 * (files.tool.ts).
 *
 * The checkpoint row goes in the same INSERT as the turn's new rows, rather than in the agents SDK's fiber
 * stash: one statement instead of three (the stash's two UPDATEs and its tracing span cost about 0.5 ms a
 * step locally, and grew with the run). Its writes are synchronous Durable Object storage calls made together
 * with the ConversationLog's, so they commit together. A resume reads the rows back and writes them again
 * (all idempotent); a row confirmed just before a crash, and not deleted yet, is written again harmlessly.
 */
import type { StepRow } from "../db/schema";
import type { Effect } from "../tools/tool";
import { execParts, insertRows, MAX_BOUND, type Sql } from "./conversation-log";

type Kind = "step" | "effect" | "turn" | "checkpoint";
/** The id of a run's checkpoint row (step rows are `step:<n>`, effects their output id `out_…`). */
const CHECKPOINT = "checkpoint";
const INSERT = "INSERT OR REPLACE INTO run_journal (run_id, id, kind, seq, body, content, at) VALUES";
/** What the table holds per run, by row id: a step's `step:<n>`, an effect's output id. */
type Stored = { kinds: Map<string, Kind>; next: number };

export type Unwritten = { pending: StepRow[]; effects: Effect[]; turnEffects: Map<string, Effect> };

/** An effect without its file's content (kept in its own column), as the checkpoint row and the body column hold it. */
export function withoutContent(e: Effect): Effect {
  if (!e.file) return e;
  const { content: _content, ...file } = e.file;
  return { ...e, file: { ...file, content: "" } };
}

export class StepJournal {
  private ready = false;
  /** The table's rows per run, as this instance wrote or read them (a new instance reads them back on first use). */
  private stored = new Map<string, Stored>();

  constructor(private readonly sql: Sql) {}

  private ensure(): void {
    if (this.ready) return;
    this
      .sql`CREATE TABLE IF NOT EXISTS run_journal (run_id TEXT NOT NULL, id TEXT NOT NULL, kind TEXT NOT NULL, seq INTEGER NOT NULL, body TEXT NOT NULL, content TEXT, at INTEGER NOT NULL, PRIMARY KEY (run_id, id))`;
    // A development build's first layout of this table (never released); nothing in it can be resumed.
    this.sql`DROP TABLE IF EXISTS run_unwritten`;
    this.ready = true;
  }

  /**
   * Makes the table hold exactly these rows for the run: adds the new ones, moves a turn's effects to `effect`
   * once committed, deletes the rest, and replaces the checkpoint row with `checkpoint` (when given; one INSERT
   * for all). Returns the bytes written.
   */
  sync(runId: string, pending: StepRow[], effects: Effect[], turnEffects: Effect[], checkpoint: string | null = null, now = Date.now()): number {
    this.ensure();
    const stored = this.storedOf(runId);
    const kinds = new Map<string, Kind>();
    if (checkpoint !== null || stored.kinds.has(CHECKPOINT)) kinds.set(CHECKPOINT, "checkpoint");
    for (const r of pending) kinds.set(`step:${r.stepNo}`, "step");
    for (const e of turnEffects) kinds.set(e.output.id, "turn");
    for (const e of effects) kinds.set(e.output.id, "effect");
    this.delete(
      runId,
      [...stored.kinds.keys()].filter((id) => !kinds.has(id)),
    );
    let bytes = 0;
    const inserts: (string | number | null)[][] = [];
    const insert = (id: string, kind: Kind, seq: number, row: StepRow | Effect) => {
      const effect = kind === "step" ? null : (row as Effect);
      const body = JSON.stringify(effect ? withoutContent(effect) : row);
      const content = effect?.file?.content ?? null;
      bytes += body.length + (content?.length ?? 0);
      inserts.push([runId, id, kind, seq, body, content, now]);
    };
    for (const r of pending) if (!stored.kinds.has(`step:${r.stepNo}`)) insert(`step:${r.stepNo}`, "step", r.stepNo, r);
    for (const e of turnEffects) if (kinds.get(e.output.id) === "turn" && !stored.kinds.has(e.output.id)) insert(e.output.id, "turn", stored.next++, e);
    // Committed effects take their seq in the writer's order (a later write of a path wins), also those moving
    // over from the turn, whose calls may have completed in another order.
    for (const e of effects) {
      const was = stored.kinds.get(e.output.id);
      if (was === "effect") continue;
      if (was) this.sql`UPDATE run_journal SET kind = 'effect', seq = ${stored.next++} WHERE run_id = ${runId} AND id = ${e.output.id}`;
      else insert(e.output.id, "effect", stored.next++, e);
    }
    if (checkpoint !== null) {
      bytes += checkpoint.length;
      inserts.push([runId, CHECKPOINT, "checkpoint", 0, checkpoint, null, now]);
    }
    insertRows(this.sql, INSERT, inserts);
    stored.kinds = kinds;
    return bytes;
  }

  /**
   * Deletes rows the writer has confirmed (steps and committed effects, never the turn's) at once, not at the next
   * stash: a resume in between would write a confirmed file again, over what another run of the goal saved since.
   */
  forget(runId: string, rows: StepRow[], effects: Effect[]): void {
    this.ensure();
    const stored = this.storedOf(runId);
    const ids = [...rows.map((r) => `step:${r.stepNo}`), ...effects.map((e) => e.output.id)].filter((id) => {
      const kind = stored.kinds.get(id);
      return kind === "step" || kind === "effect";
    });
    this.delete(runId, ids);
    for (const id of ids) stored.kinds.delete(id);
  }

  /** Replaces the run's checkpoint row alone (with the run's ending, once decided). */
  save(runId: string, checkpoint: string, now = Date.now()): void {
    this.ensure();
    this.storedOf(runId).kinds.set(CHECKPOINT, "checkpoint");
    insertRows(this.sql, INSERT, [[runId, CHECKPOINT, "checkpoint", 0, checkpoint, null, now]]);
  }

  /** The run's checkpoint row, or null when it has none (never checkpointed here, or ended and dropped). */
  checkpoint(runId: string): string | null {
    this.ensure();
    const rows = this.sql<{ body: string }>`SELECT body FROM run_journal WHERE run_id = ${runId} AND id = ${CHECKPOINT}`;
    return rows[0]?.body ?? null;
  }

  /** Deletes the run's rows of these ids, in as few statements as the parameter limit allows (see insertRows). */
  private delete(runId: string, ids: string[]): void {
    for (let i = 0; i < ids.length; i += MAX_BOUND - 1) {
      const group = ids.slice(i, i + MAX_BOUND - 1);
      execParts(this.sql, ["DELETE FROM run_journal WHERE run_id = ", " AND id IN (", ...group.slice(1).map(() => ", "), ")"], [runId, ...group]);
    }
  }

  /** The run's unwritten step rows and committed effects, in order, and the effects of the turn under way by output id. */
  read(runId: string): Unwritten {
    this.ensure();
    const rows = this.sql<{
      kind: Kind;
      body: string;
      content: string | null;
    }>`SELECT kind, body, content FROM run_journal WHERE run_id = ${runId} ORDER BY seq`;
    const effectOf = (r: { body: string; content: string | null }) => {
      const e = JSON.parse(r.body) as Effect;
      return e.file ? { ...e, file: { ...e.file, content: r.content ?? "" } } : e;
    };
    return {
      pending: rows.filter((r) => r.kind === "step").map((r) => JSON.parse(r.body) as StepRow),
      effects: rows.filter((r) => r.kind === "effect").map(effectOf),
      turnEffects: new Map(rows.filter((r) => r.kind === "turn").map((r) => [effectOf(r).output.id, effectOf(r)])),
    };
  }

  /** Deletes the run's rows, and any left by a run last written before `staleBefore` (see ConversationLog.drop). */
  drop(runId: string, staleBefore: number): void {
    this.ensure();
    this.sql`DELETE FROM run_journal WHERE run_id = ${runId} OR at < ${staleBefore}`;
    this.stored.clear();
  }

  private storedOf(runId: string): Stored {
    let s = this.stored.get(runId);
    if (!s) {
      // First sync of this run in this instance: what an earlier instance left is read back.
      const rows = this.sql<{ id: string; kind: Kind; seq: number }>`SELECT id, kind, seq FROM run_journal WHERE run_id = ${runId}`;
      s = {
        kinds: new Map(rows.map((r) => [r.id, r.kind])),
        next: Math.max(0, ...rows.filter((r) => r.kind === "effect" || r.kind === "turn").map((r) => r.seq + 1)),
      };
      this.stored.set(runId, s);
    }
    return s;
  }
}
