/**
 * A goal's inbound webhook trigger: enable (or rotate), disable, read, and what one delivery needs in
 * one round trip. The rate limit is a fixed one-minute window counted on the trigger's own row, taken
 * in one conditional UPDATE, so concurrent deliveries cannot both take the last slot.
 */
import { eq, sql } from "drizzle-orm";
import type { GoalStatus } from "../domain/vocabulary";
import { newId } from "../lib/ids";
import type { Db } from "./client";
import { goalTriggers, type RunRow, type TriggerRow } from "./schema";

/** A new signing secret in the Standard Webhooks form: `whsec_` and the base64 of 32 random bytes. */
export function newTriggerSecret(): string {
  return `whsec_${btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))))}`;
}

export async function getTrigger(db: Db, goalId: string): Promise<TriggerRow | undefined> {
  return db.select().from(goalTriggers).where(eq(goalTriggers.goalId, goalId)).get();
}

/** Keeps enabled_at when the trigger was already on (a rotation), sets it when it was off. */
const sqlEnabledAt = (now: number) => sql`CASE WHEN ${goalTriggers.secret} IS NULL THEN ${now} ELSE ${goalTriggers.enabledAt} END`;

/**
 * Enables the goal's trigger with a new secret (a second call rotates it: the old secret stops working at
 * once). The URL's hook id is made once per goal and kept, so rotating needs no change of URL.
 */
export async function enableTrigger(db: Db, goalId: string, now = Date.now()): Promise<{ hookId: string; secret: string; row: TriggerRow }> {
  const secret = newTriggerSecret();
  const [row] = await db
    .insert(goalTriggers)
    .values({ goalId, hookId: newId("hook", now), secret, enabledAt: now, secretCreatedAt: now, createdAt: now })
    .onConflictDoUpdate({
      target: goalTriggers.goalId,
      set: { secret, secretCreatedAt: now, enabledAt: sqlEnabledAt(now) },
    })
    .returning();
  return { hookId: row!.hookId, secret, row: row! };
}

/** Disables the trigger: the secret is forgotten; the URL and the last fire time stay for `GET`. */
export async function disableTrigger(db: Db, goalId: string): Promise<boolean> {
  const r = await db
    .update(goalTriggers)
    .set({ secret: null, enabledAt: null })
    .where(eq(goalTriggers.goalId, goalId))
    .returning({ goalId: goalTriggers.goalId });
  return r.length > 0;
}

/** What a delivery to a hook id needs: the goal, its secret and state, and the run the delivery id already started. */
export type DeliveryTarget = {
  goalId: string;
  secret: string | null;
  goalStatus: GoalStatus;
  ratePerMinute: number | null;
  runId: string | null;
  runStatus: RunRow["status"] | null;
};

export async function deliveryTarget(d1: D1Database, hookId: string, deliveryId: string): Promise<DeliveryTarget | null> {
  return d1
    .prepare(
      `SELECT t.goal_id AS goalId, t.secret, g.status AS goalStatus, json_extract(g.params, '$.triggerRatePerMinute') AS ratePerMinute,
              r.id AS runId, r.status AS runStatus
       FROM goal_triggers t JOIN goals g ON g.id = t.goal_id
       LEFT JOIN runs r ON r.goal_id = t.goal_id AND r.delivery_id = ?2
       WHERE t.hook_id = ?1`,
    )
    .bind(hookId, deliveryId)
    .first<DeliveryTarget>();
}

/**
 * Takes one slot of the goal's current minute (and records the fire time), or says how many seconds
 * until the next window when the minute's `limit` is used up. Counted per calendar minute.
 */
export async function takeDeliverySlot(
  d1: D1Database,
  goalId: string,
  limit: number,
  now = Date.now(),
): Promise<{ ok: true } | { ok: false; retryAfter: number }> {
  const window = now - (now % 60_000);
  const taken = await d1
    .prepare(
      `UPDATE goal_triggers SET window_count = CASE WHEN window_start = ?2 THEN window_count + 1 ELSE 1 END,
              window_start = ?2, last_fired_at = ?3
       WHERE goal_id = ?1 AND secret IS NOT NULL AND (window_start <> ?2 OR window_count < ?4)
       RETURNING 1 AS ok`,
    )
    .bind(goalId, window, now, limit)
    .first();
  return taken ? { ok: true } : { ok: false, retryAfter: Math.max(1, Math.ceil((window + 60_000 - now) / 1000)) };
}

/** The run a delivery id started for the goal, if any. */
export async function runOfDelivery(d1: D1Database, goalId: string, deliveryId: string): Promise<Pick<RunRow, "id" | "status"> | null> {
  return d1.prepare("SELECT id, status FROM runs WHERE goal_id = ?1 AND delivery_id = ?2").bind(goalId, deliveryId).first();
}
