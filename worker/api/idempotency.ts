/**
 * `Idempotency-Key` on the POSTs that create or change something (Stripe's model, and the IETF draft
 * "The Idempotency-Key HTTP Header Field"): the first request with a key runs and its answer is kept for
 * 24 h; the same key with the same body gets that answer again (same status and body, plus
 * `Idempotent-Replayed: true`) and creates nothing; the same key with another body is a 422; while the
 * first is still executing, a 409. Keys are scoped by method and path (so per route, and per goal or run).
 *
 * What is kept: answers of requests that got past validation and ran (2xx, and the 404/409 a handler
 * decided). A validation error, a 5xx or a cut connection stores nothing, so the same key can be retried.
 */
import type { MiddlewareHandler } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { claimKey, releaseKey, storeAnswer } from "../db/idempotency";
import { ApiError, invalidFields } from "./errors";
import type { App } from "./router";

/** The routes that take a key: POST /goals, POST /goals/:id/run, POST /runs/:id/cancel. */
const IDEMPOTENT_PATHS = /^\/api\/v1\/(goals|goals\/[^/]+\/run|runs\/[^/]+\/cancel)\/?$/;
/** Printable ASCII, as the draft's sf-string allows; Stripe takes up to 255 characters. */
const KEY_SHAPE = /^[\x20-\x7e]{1,255}$/;

const kept = (status: number) => (status >= 200 && status < 300) || status === 404 || status === 409;

async function sha256Hex(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

export const idempotency: MiddlewareHandler<App> = async (c, next) => {
  const key = c.req.header("idempotency-key");
  if (key === undefined || c.req.method !== "POST" || !IDEMPOTENT_PATHS.test(c.req.path)) return next();
  if (!KEY_SHAPE.test(key)) throw invalidFields([{ path: "Idempotency-Key", message: "expected 1 to 255 printable ASCII characters" }]);
  const scope = `POST ${c.req.path.replace(/\/$/, "")}`;
  const hash = await sha256Hex(await c.req.text());
  const claim = await claimKey(c.env.DB, scope, key, hash, Date.now());
  if (!claim.claimed) {
    if (claim.requestHash !== hash)
      throw new ApiError("idempotency_key_reused", "this Idempotency-Key was used with another request body on this route: use a new key for a new request");
    if (claim.status === null || claim.response === null)
      throw new ApiError("idempotency_key_in_use", "a request with this Idempotency-Key is still being processed: retry in a moment");
    return c.body(claim.response, claim.status as ContentfulStatusCode, { "content-type": "application/json", "idempotent-replayed": "true" });
  }
  try {
    await next();
  } catch (e) {
    await releaseKey(c.env.DB, scope, key, hash);
    throw e;
  }
  // A handler's ApiError is already the error response here (app.onError ran): c.res is the answer.
  // The request has done its work: failing to record its answer must not turn that answer into a 500 (a
  // retry of a 500 would do the work again). The claim stays as a lease, so a retry meanwhile is told to wait.
  const settle = kept(c.res.status)
    ? storeAnswer(c.env.DB, scope, key, hash, c.res.status, await c.res.clone().text())
    : releaseKey(c.env.DB, scope, key, hash);
  await settle.catch((e) => console.error(JSON.stringify({ at: "idempotency", scope, error: String(e) })));
};
