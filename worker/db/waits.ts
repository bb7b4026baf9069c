/**
 * Waits: a run's tool calls that need a person (an approval, or an answer to `ask_user`). A wait is
 * opened by the agent, which then lets go of the run (status `waiting`, no fiber, no request held);
 * it is settled once — by a decision (API or one-click link) or by its expiry at a scheduler tick —
 * and the same D1 batch moves the run back to `pending`, so the reaper re-sends it should the hand-over
 * to the agent be lost. Every transition is a conditional UPDATE: concurrent decisions, a decision racing
 * the expiry, or a cancel racing a decision change the run exactly once.
 */
import { and, asc, eq, isNull, sql } from "drizzle-orm";
import type { WaitKind, WaitOutcome } from "../domain/vocabulary";
import type { Db } from "./client";
import { runs, type WaitRow, waits } from "./schema";

/** One wait per (run, step): a resumed run asking for the same call again finds its row. */
export const waitIdOf = (runId: string, stepNo: number) => `${runId}.w${stepNo}`;

export type NewWait = Pick<WaitRow, "runId" | "stepNo" | "kind" | "tool" | "input" | "question" | "choices" | "expiresAt">;

/**
 * Opens the wait (or finds it, when a resumed run asks again) and marks the run `waiting`, in one batch.
 * `waiting` is false when the run was no longer running (cancelled, or ended elsewhere), or a cancel was requested.
 */
export async function openWait(db: Db, w: NewWait, now = Date.now()): Promise<{ wait: WaitRow; waiting: boolean }> {
  const id = waitIdOf(w.runId, w.stepNo);
  const [, marked, row] = await db.batch([
    db
      .insert(waits)
      .values({ ...w, id, askedAt: now })
      .onConflictDoNothing(),
    db
      .update(runs)
      .set({ status: "waiting", heartbeatAt: now, updatedAt: now })
      .where(and(eq(runs.id, w.runId), eq(runs.status, "running"), isNull(runs.cancelRequestedAt)))
      .returning({ id: runs.id }),
    db.select().from(waits).where(eq(waits.id, id)),
  ]);
  return { wait: row[0], waiting: marked.length > 0 };
}

/** A run's waits, oldest first: what a resumed run reads to learn how its calls were decided. */
export async function waitsOf(db: Db, runId: string): Promise<WaitRow[]> {
  return db.select().from(waits).where(eq(waits.runId, runId)).orderBy(asc(waits.stepNo));
}

/** The wait a `waiting` run waits for: its one undecided wait. */
export async function openWaitOf(db: Db, runId: string): Promise<WaitRow | null> {
  const [w] = await db
    .select()
    .from(waits)
    .where(and(eq(waits.runId, runId), isNull(waits.outcome)))
    .orderBy(asc(waits.stepNo))
    .limit(1);
  return w ?? null;
}

export type Decision = { waitId?: string; kind: WaitKind; outcome: Exclude<WaitOutcome, "expired">; response: string | null; via: "api" | "link" };

/**
 * Settles the run's open wait of `kind` (and id, when given) with a person's decision, if it is still
 * open and not expired, and moves the run back to `pending`, in one transaction. Returns the settled
 * wait, or null when nothing was open to settle (the caller reads why).
 */
export async function decideWait(db: Db, runId: string, d: Decision, now = Date.now()): Promise<WaitRow | null> {
  const [decided] = await db.batch([
    db
      .update(waits)
      .set({ outcome: d.outcome, response: d.response, decidedVia: d.via, decidedAt: now })
      .where(
        and(
          eq(waits.runId, runId),
          eq(waits.kind, d.kind),
          isNull(waits.outcome),
          sql`${waits.expiresAt} > ${now}`,
          d.waitId ? eq(waits.id, d.waitId) : undefined,
          // Only while the run waits: a cancelled run's wait stays as it was.
          sql`EXISTS (SELECT 1 FROM runs WHERE id = ${runId} AND status = 'waiting')`,
        ),
      )
      .returning(),
    db
      .update(runs)
      // The hand-over that follows is the run's first attempt again (the reaper re-sends it twice more if lost).
      .set({ status: "pending", updatedAt: now, attempts: 1 })
      .where(
        and(
          eq(runs.id, runId),
          eq(runs.status, "waiting"),
          sql`EXISTS (SELECT 1 FROM waits WHERE run_id = ${runId} AND decided_at = ${now} AND decided_via = ${d.via})`,
        ),
      ),
  ]);
  return decided[0] ?? null;
}

/** The run's newest wait (decided or not): what a refused decision is explained from. */
export async function lastWaitOf(db: Db, runId: string): Promise<WaitRow | null> {
  const [w] = await db.select().from(waits).where(eq(waits.runId, runId)).orderBy(sql`${waits.stepNo} DESC`).limit(1);
  return w ?? null;
}

/**
 * The scheduler's share: settles undecided waits past their expiry as `expired` and moves their runs
 * back to `pending` (one batch, at most `limit` waits per tick), returning the runs to hand to their agents.
 */
export async function expireWaits(d1: D1Database, now: number, limit: number): Promise<{ id: string; goalId: string }[]> {
  const [, resumed] = await d1.batch<{ id: string; goalId: string }>([
    d1
      .prepare(
        `UPDATE waits SET outcome = 'expired', decided_via = 'expiry', decided_at = ?1
         WHERE id IN (SELECT id FROM waits WHERE outcome IS NULL AND expires_at <= ?1 LIMIT ?2)`,
      )
      .bind(now, limit),
    d1
      .prepare(
        `UPDATE runs SET status = 'pending', updated_at = ?1, attempts = 1
         WHERE status = 'waiting' AND id IN (SELECT run_id FROM waits WHERE decided_via = 'expiry' AND decided_at = ?1)
         RETURNING id, goal_id AS goalId`,
      )
      .bind(now),
  ]);
  return resumed?.results ?? [];
}

/** Claims the right to tell people of the wait (webhook, email): true for exactly one caller. */
export async function claimWaitNotice(db: Db, waitId: string, now = Date.now()): Promise<boolean> {
  const r = await db
    .update(waits)
    .set({ noticeAt: now })
    .where(and(eq(waits.id, waitId), isNull(waits.noticeAt)))
    .returning({ id: waits.id });
  return r.length > 0;
}
