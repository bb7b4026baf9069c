/**
 * Idempotency-Key records: claim, store the answer, release, prune. Raw D1 statements: the claim is one
 * upsert and one read in a single batch (one round trip), which drizzle's batch cannot express.
 */

/** A key is remembered this long (Stripe's and the IETF draft's usual window). */
export const IDEMPOTENCY_TTL_MS = 24 * 3600_000;
/** A claim whose request never stored an answer (the isolate died mid-request) is free again after this. */
export const CLAIM_LEASE_MS = 60_000;

/** What a key already holds when this request did not get it. */
export type KeyHeld = { requestHash: string; status: number | null; response: string | null };
export type Claim = { claimed: true } | ({ claimed: false } & KeyHeld);

/**
 * Claims (scope, key) for this request: a new key, an expired one, or an abandoned claim is taken (and its
 * old answer forgotten); otherwise the record it holds is returned. Atomic: of two concurrent requests
 * with one key, exactly one claims it.
 */
export async function claimKey(d1: D1Database, scope: string, key: string, requestHash: string, now: number): Promise<Claim> {
  const [claimed, held] = await d1.batch<Record<string, unknown>>([
    d1
      .prepare(
        `INSERT INTO idempotency_keys (scope, key, request_hash, status, response, created_at) VALUES (?1, ?2, ?3, NULL, NULL, ?4)
         ON CONFLICT (scope, key) DO UPDATE SET request_hash = excluded.request_hash, status = NULL, response = NULL, created_at = excluded.created_at
         WHERE idempotency_keys.created_at < ?5 OR (idempotency_keys.status IS NULL AND idempotency_keys.created_at < ?6)
         RETURNING 1 AS claimed`,
      )
      .bind(scope, key, requestHash, now, now - IDEMPOTENCY_TTL_MS, now - CLAIM_LEASE_MS),
    d1.prepare("SELECT request_hash AS requestHash, status, response FROM idempotency_keys WHERE scope = ?1 AND key = ?2").bind(scope, key),
  ]);
  if (claimed?.results.length) return { claimed: true };
  const row = held?.results[0] as KeyHeld | undefined;
  // The row exists (the upsert met it); read defensively all the same.
  return row ? { claimed: false, requestHash: row.requestHash, status: row.status, response: row.response } : { claimed: true };
}

/** Stores the answer a replay gets (only the claim of this request with this body is updated). */
export async function storeAnswer(d1: D1Database, scope: string, key: string, requestHash: string, status: number, response: string): Promise<void> {
  await d1
    .prepare("UPDATE idempotency_keys SET status = ?4, response = ?5 WHERE scope = ?1 AND key = ?2 AND request_hash = ?3 AND status IS NULL")
    .bind(scope, key, requestHash, status, response)
    .run();
}

/** Frees a claim whose request stored no answer (a validation error, a 5xx): the client may retry with the key. */
export async function releaseKey(d1: D1Database, scope: string, key: string, requestHash: string): Promise<void> {
  await d1.prepare("DELETE FROM idempotency_keys WHERE scope = ?1 AND key = ?2 AND request_hash = ?3 AND status IS NULL").bind(scope, key, requestHash).run();
}

/** Deletes up to `limit` records older than the window (the cron tick calls it); returns how many. */
export async function pruneKeys(d1: D1Database, now: number, limit = 1000): Promise<number> {
  const r = await d1
    .prepare("DELETE FROM idempotency_keys WHERE rowid IN (SELECT rowid FROM idempotency_keys WHERE created_at < ?1 LIMIT ?2)")
    .bind(now - IDEMPOTENCY_TTL_MS, limit)
    .run();
  return r.meta.changes ?? 0;
}
