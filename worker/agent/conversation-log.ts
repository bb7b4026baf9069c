/**
 * A run's conversation in its agent's own SQLite, append-only: each checkpoint writes only the messages
 * added since the previous one, and the StepJournal's checkpoint row keeps the rest of the checkpoint with a
 * message count. What a step writes therefore follows that step, not the length of the conversation (stashing
 * the whole conversation twice a turn cost more CPU with every step).
 *
 * Both writes are synchronous Durable Object storage calls made in one go, so they commit together: a
 * checkpoint never names messages that are not stored. Rows are keyed (run, seq) and rewritten as they were,
 * so a resume that appends the same messages again changes nothing. A run's rows go when it has ended.
 */
import type { Message } from "../llm/types";

/** The agents SDK's `this.sql` (synchronous, on the agent's own storage). */
export type Sql = <T = Record<string, string | number | boolean | null>>(strings: TemplateStringsArray, ...values: SqlValue[]) => T[];
type SqlValue = string | number | boolean | null;

/** Durable Object SQL binds at most 100 parameters per statement. */
export const MAX_BOUND = 100;

/** Runs the statement whose text is `strings` around `values`, as a tagged template passes them. */
export function execParts(sql: Sql, strings: string[], values: SqlValue[]): void {
  sql(Object.assign(strings, { raw: strings }) as unknown as TemplateStringsArray, ...values);
}

/**
 * `head` followed by the rows as `(?, ?, …), (…)`, in as few statements as the parameter limit allows: a step
 * writes several rows, and each storage call costs CPU of its own (locally, four 400-byte rows took 0.38 ms of
 * workerd CPU in one statement and 0.64 ms in four, commit included).
 */
export function insertRows(sql: Sql, head: string, rows: SqlValue[][]): void {
  const width = rows[0]?.length ?? 1;
  const per = Math.max(1, Math.floor(MAX_BOUND / width));
  for (let i = 0; i < rows.length; i += per) {
    const group = rows.slice(i, i + per);
    const values = group.flat();
    // The text around each value: "head (" before the first, "), (" between rows, ", " within one, ")" after.
    const strings = [`${head} (`, ...values.slice(1).map((_, k) => ((k + 1) % width === 0 ? "), (" : ", ")), ")"];
    execParts(sql, strings, values);
  }
}

export class ConversationLog {
  private ready = false;

  constructor(private readonly sql: Sql) {}

  private ensure(): void {
    if (this.ready) return;
    this.sql`CREATE TABLE IF NOT EXISTS run_messages (run_id TEXT NOT NULL, seq INTEGER NOT NULL, body TEXT NOT NULL, at INTEGER, PRIMARY KEY (run_id, seq))`;
    // A table made before `at` existed gets it (rows without it are swept like old ones).
    if (!this.sql<{ name: string }>`PRAGMA table_info(run_messages)`.some((c) => c.name === "at")) this.sql`ALTER TABLE run_messages ADD COLUMN at INTEGER`;
    this.ready = true;
  }

  /** Stores `messages[from..]`; returns the bytes written. */
  append(runId: string, messages: Message[], from: number, now = Date.now()): number {
    this.ensure();
    let bytes = 0;
    const rows = messages.slice(from).map((m, i) => {
      const body = JSON.stringify(m);
      bytes += body.length;
      return [runId, from + i, body, now];
    });
    insertRows(this.sql, "INSERT OR REPLACE INTO run_messages (run_id, seq, body, at) VALUES", rows);
    return bytes;
  }

  /** The first `count` messages of the run, in order. */
  read(runId: string, count: number): Message[] {
    this.ensure();
    const rows = this.sql<{ body: string }>`SELECT body FROM run_messages WHERE run_id = ${runId} AND seq < ${count} ORDER BY seq`;
    if (rows.length !== count) throw new Error(`the checkpoint names ${count} messages but ${rows.length} are stored`);
    return rows.map((r) => JSON.parse(r.body) as Message);
  }

  /**
   * Deletes the run's messages, and those of any run last written before `staleBefore`: a run ended elsewhere
   * (the reaper, the dead-letter queue) leaves its rows here, and no run resumes after that long.
   */
  drop(runId: string, staleBefore: number): void {
    this.ensure();
    this.sql`DELETE FROM run_messages WHERE run_id = ${runId} OR at IS NULL OR at < ${staleBefore}`;
  }
}
