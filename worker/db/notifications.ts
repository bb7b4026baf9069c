/**
 * The state of a run's end notification, in two columns: `notify_claimed_at` while one caller delivers
 * it, `notified_at` once it is settled. Only one caller at a time holds the claim, so concurrent callers
 * (the agent, the cancel route, the reaper) do not both deliver; a claim older than the lease is taken to
 * be from a process that died mid-delivery, and is taken over.
 */
import { and, eq, inArray, isNull, lt, or, sql } from "drizzle-orm";
import { ENDED_RUN_STATUSES } from "../domain/vocabulary";
import { newId } from "../lib/ids";
import type { Db } from "./client";
import { outputs, runs } from "./schema";

/** A claim older than this is taken to be from a process that died mid-delivery, and is taken over. */
export const CLAIM_LEASE_MS = 5 * 60_000;

/** Claims the notification of an ended run; false when it is settled or another caller holds a live claim. */
export async function claimNotification(db: Db, runId: string, now: number): Promise<boolean> {
  const [row] = await db
    .update(runs)
    .set({ notifyClaimedAt: now })
    .where(
      and(
        eq(runs.id, runId),
        inArray(runs.status, ENDED_RUN_STATUSES),
        isNull(runs.notifiedAt),
        or(isNull(runs.notifyClaimedAt), lt(runs.notifyClaimedAt, now - CLAIM_LEASE_MS)),
      ),
    )
    .returning({ id: runs.id });
  return row !== undefined;
}

/**
 * Settles the claim made at `claimedAt` and records the delivery as a `webhook` output, atomically (a D1
 * batch is one transaction): both happen only while that claim is still the run's, so exactly once.
 */
export async function settleNotification(db: Db, runId: string, claimedAt: number, payload: Record<string, unknown>, now = Date.now()): Promise<void> {
  const claimHeld = and(eq(runs.id, runId), eq(runs.notifyClaimedAt, claimedAt), isNull(runs.notifiedAt));
  await db.batch([
    // INSERT ... SELECT ... WHERE EXISTS: drizzle's insert().values() has no condition, so the row comes from a select.
    db.insert(outputs).select(sql`
      SELECT ${newId("out", now)}, ${runId}, 'webhook', NULL, ${JSON.stringify(payload)}, ${now}
      WHERE EXISTS (SELECT 1 FROM ${runs} WHERE ${claimHeld})`),
    db.update(runs).set({ notifiedAt: now }).where(claimHeld),
  ]);
}

/** Settles a notification there is nothing to send for (the goal has no webhook URL). */
export async function settleWithoutDelivery(db: Db, runId: string, now = Date.now()): Promise<void> {
  await db
    .update(runs)
    .set({ notifiedAt: now })
    .where(and(eq(runs.id, runId), isNull(runs.notifiedAt)));
}
