/**
 * Standard Webhooks (https://www.standardwebhooks.com): headers `webhook-id`, `webhook-timestamp`
 * (unix seconds) and `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, keyed with
 * the base64 bytes of a `whsec_<base64>` secret. Deliveries retry with backoff on 5xx/429/network
 * errors and keep the same webhook-id, so receivers can drop duplicates.
 */
import type { Env } from "../lib/env";
import { type EgressPolicy, EgressError, guardedFetch } from "./guarded-fetch";

const enc = new TextEncoder();

/** The HMAC key of a `whsec_<base64>` secret (the bare base64 form is accepted too). */
export function webhookKeyBytes(secret: string): Uint8Array {
  const b64 = secret.startsWith("whsec_") ? secret.slice(6) : secret;
  let bytes: Uint8Array;
  try {
    bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  } catch {
    throw new Error("WEBHOOK_SECRET must be whsec_<base64>");
  }
  if (bytes.length < 16) throw new Error("WEBHOOK_SECRET is too short: use at least 24 random bytes");
  return bytes;
}

export async function signWebhook(secret: string, id: string, timestamp: number, body: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", webhookKeyBytes(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, enc.encode(`${id}.${timestamp}.${body}`)));
  return `v1,${btoa(String.fromCharCode(...mac))}`;
}

/** The webhook headers for one attempt (the timestamp is the attempt's; the id is the delivery's). */
export async function webhookHeaders(secret: string, id: string, body: string, now = Date.now()) {
  const timestamp = Math.floor(now / 1000);
  return {
    "content-type": "application/json",
    "webhook-id": id,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": await signWebhook(secret, id, timestamp, body),
  };
}

export type Delivery = { delivered: boolean; status: number | null; attempts: number; error?: string };

/** Why webhooks cannot be signed here, or null. */
export function webhookNotConfigured(env: Env): string | null {
  if (!env.WEBHOOK_SECRET) return "set WEBHOOK_SECRET (whsec_<base64>, e.g. `openssl rand -base64 32`)";
  try {
    webhookKeyBytes(env.WEBHOOK_SECRET);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

/**
 * POSTs `body` signed, retrying 5xx/429/network failures with exponential backoff. Redirects are not
 * followed: a signed payload goes only where it was addressed. Never throws for HTTP/network failures.
 */
export async function deliverWebhook(
  env: Env,
  d: { url: string; id: string; body: string; policy: EgressPolicy; signal?: AbortSignal },
  opts: { attempts?: number; backoffMs?: number; timeoutMs?: number } = {},
): Promise<Delivery> {
  const attempts = opts.attempts ?? 3;
  const backoff = opts.backoffMs ?? 500;
  let last: Delivery = { delivered: false, status: null, attempts: 0 };
  for (let i = 1; i <= attempts; i++) {
    try {
      const res = await guardedFetch(
        d.url,
        {
          method: "POST",
          headers: await webhookHeaders(env.WEBHOOK_SECRET, d.id, d.body),
          body: d.body,
          signal: d.signal,
          timeoutMs: opts.timeoutMs ?? 10_000,
          maxBytes: 64 * 1024,
          maxRedirects: 0,
        },
        d.policy,
      );
      if (res.ok) return { delivered: true, status: res.status, attempts: i };
      last = { delivered: false, status: res.status, attempts: i, error: `receiver answered ${res.status}` };
      if (res.status < 500 && res.status !== 429) return last;
    } catch (e) {
      if (e instanceof EgressError) return { delivered: false, status: null, attempts: i, error: e.message };
      last = { delivered: false, status: null, attempts: i, error: (e as Error).message };
      if (d.signal?.aborted) return last;
    }
    if (i < attempts) await new Promise((r) => setTimeout(r, backoff * 2 ** (i - 1)));
  }
  return last;
}
