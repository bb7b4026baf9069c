/**
 * POST /hooks/:hookId — inbound webhook deliveries, public (no bearer token): a delivery counts only
 * when it is signed with the goal's trigger secret, as Standard Webhooks (`webhook-id`,
 * `webhook-timestamp`, `webhook-signature`) or as GitHub (`X-Hub-Signature-256`, `X-GitHub-Delivery`,
 * `X-GitHub-Event`). Every refusal before the signature is known to be good — no signature, a wrong or
 * stale one, an unknown hook, a disabled trigger — is the same 401 and writes nothing, so the answer
 * tells nobody which hooks exist.
 *
 * A client gets at most 300 delivery attempts a minute (per IP, before any D1 read): a flood of forged
 * deliveries is a 429, not a database load.
 *
 * Then, in order: a delivery id seen before answers 200 with the run it started (exactly once per
 * delivery; a unique index on runs(goal_id, delivery_id) backs it); a paused or archived goal 409; the
 * goal's rate limit 429 with Retry-After; else a run (trigger `webhook`, the body as its input) takes the
 * run-now path (scheduler/dispatch.ts), where the goal's overlap policy applies: 202.
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { DEFAULT_TRIGGER_RATE_PER_MINUTE, DELIVERY_MAX_BYTES } from "../../domain/vocabulary";
import { deliveryTarget, runOfDelivery, takeDeliverySlot } from "../../db/triggers";
import { isId } from "../../lib/ids";
import { verifyGitHubSignature, verifyStandardWebhook } from "../../net/webhook-signing";
import { startRunNow } from "../../scheduler/dispatch";
import { ApiError } from "../errors";
import type { App } from "../router";

/** The signature a delivery carries, by scheme; null when it has none we accept. */
type Signed =
  | { scheme: "standard"; id: string; timestamp: string; signatures: string }
  | { scheme: "github"; id: string; signature: string; event: string | null };

function signatureOf(h: Headers): Signed | null {
  const id = h.get("webhook-id");
  const timestamp = h.get("webhook-timestamp");
  const signatures = h.get("webhook-signature");
  if (id && timestamp && signatures) return { scheme: "standard", id, timestamp, signatures };
  const signature = h.get("x-hub-signature-256");
  const delivery = h.get("x-github-delivery");
  if (signature && delivery) return { scheme: "github", id: delivery, signature, event: h.get("x-github-event") };
  return null;
}

/**
 * Checked against when the hook is unknown or disabled, so those cost the same HMAC as a real one. A
 * constant (workerd allows no random values at start-up); a match on it is refused all the same.
 */
const DECOY_SECRET = `whsec_${btoa("\0".repeat(32))}`;

const verify = (secret: string, s: Signed, body: Uint8Array) =>
  s.scheme === "standard"
    ? verifyStandardWebhook(secret, { id: s.id, timestamp: s.timestamp, signatures: s.signatures }, body)
    : verifyGitHubSignature(secret, s.signature, body);

const unauthorized = () => new ApiError("unauthorized", "the delivery is not signed with this trigger's secret");

/** The body as the run's input: JSON when it says so and parses, else text; nothing for an empty body. */
function inputOf(body: Uint8Array, contentType: string | undefined): unknown {
  if (body.length === 0) return null;
  const text = new TextDecoder().decode(body);
  if (/\bjson\b/i.test(contentType ?? ""))
    try {
      return JSON.parse(text);
    } catch {
      // Sent as JSON but not JSON: the agent gets the text.
    }
  return text;
}

/** The event name: GitHub's header, or a Standard Webhooks payload's `type`. */
function eventOf(s: Signed, input: unknown): string | null {
  if (s.scheme === "github") return s.event?.slice(0, 200) ?? null;
  const type = input && typeof input === "object" && "type" in input ? (input as { type: unknown }).type : null;
  return typeof type === "string" ? type.slice(0, 200) : null;
}

export const hooks = new Hono<App>().post(
  "/:hookId",
  bodyLimit({
    maxSize: DELIVERY_MAX_BYTES,
    onError: () => {
      throw new ApiError("payload_too_large", `a delivery is at most ${DELIVERY_MAX_BYTES / 1024} KB`);
    },
  }),
  async (c) => {
    const body = new Uint8Array(await c.req.arrayBuffer());
    const signed = signatureOf(c.req.raw.headers);
    const hookId = c.req.param("hookId");
    if (!signed || signed.id.length > 200) throw unauthorized();
    // Before the D1 read: a client that floods forged deliveries is slowed down per IP (wrangler.toml
    // [[ratelimits]]), whatever hook it aims at. Cloudflare sets cf-connecting-ip; locally all share one key.
    const client = c.req.header("cf-connecting-ip") ?? "local";
    if (!(await c.env.HOOKS_LIMITER.limit({ key: client })).success) {
      c.header("Retry-After", "60");
      throw new ApiError("rate_limited", "too many webhook deliveries from this address: retry in a minute");
    }
    const target = isId("hook", hookId) ? await deliveryTarget(c.env.DB, hookId, signed.id) : null;
    const authentic = await verify(target?.secret ?? DECOY_SECRET, signed, body);
    if (!target?.secret || !authentic) throw unauthorized();

    const answer = (runId: string, status: string, replayed: boolean) => c.json({ runId, status, deliveryId: signed.id, replayed }, replayed ? 200 : 202);
    if (target.runId && target.runStatus) return answer(target.runId, target.runStatus, true);
    if (target.goalStatus !== "active") throw new ApiError("conflict", `the goal is ${target.goalStatus}: deliveries start nothing until it is resumed`);
    const slot = await takeDeliverySlot(c.env.DB, target.goalId, target.ratePerMinute ?? DEFAULT_TRIGGER_RATE_PER_MINUTE);
    if (!slot.ok) {
      c.header("Retry-After", String(slot.retryAfter));
      throw new ApiError("rate_limited", `this trigger takes at most ${target.ratePerMinute ?? DEFAULT_TRIGGER_RATE_PER_MINUTE} deliveries a minute`);
    }
    const input = inputOf(body, c.req.header("content-type"));
    const delivery = { id: signed.id, event: eventOf(signed, input) };
    const started = await startRunNow(c.env, c.var.db, target.goalId, { trigger: "webhook", input, delivery }, Date.now(), (w) => c.executionCtx.waitUntil(w));
    if ("run" in started) return answer(started.run.id, started.run.status, false);
    // Nothing created: the same delivery won a race with this one, or the goal was paused or deleted meanwhile.
    const earlier = await runOfDelivery(c.env.DB, target.goalId, signed.id);
    if (earlier) return answer(earlier.id, earlier.status, true);
    throw started.refused === "goal_not_found"
      ? unauthorized()
      : new ApiError("conflict", "the goal is not active: deliveries start nothing until it is resumed");
  },
);
