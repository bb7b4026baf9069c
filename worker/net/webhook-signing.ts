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

/** HMAC-SHA256 of `data` under `key`: the one MAC of both signature schemes, outgoing and inbound. */
export async function hmacSha256(key: Uint8Array, data: Uint8Array): Promise<Uint8Array> {
  const k = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, data));
}

const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

/** `v1,<base64 HMAC>` over `id.timestamp.body` (the body as sent: its bytes, or text encoded as UTF-8). */
export async function signWebhook(secret: string, id: string, timestamp: number, body: string | Uint8Array): Promise<string> {
  const bytes = typeof body === "string" ? enc.encode(body) : body;
  const mac = await hmacSha256(webhookKeyBytes(secret), concat(enc.encode(`${id}.${timestamp}.`), bytes));
  return `v1,${btoa(String.fromCharCode(...mac))}`;
}

/** Compares in constant time for equal lengths; the length of a signature is public (it is fixed per scheme). */
export function sameText(a: string, b: string): boolean {
  const x = enc.encode(a);
  const y = enc.encode(b);
  return x.byteLength === y.byteLength && crypto.subtle.timingSafeEqual(x, y);
}

/** How far a Standard Webhooks timestamp may be from now, either way (the spec's usual tolerance). */
export const TIMESTAMP_TOLERANCE_S = 5 * 60;

/**
 * A Standard Webhooks delivery is authentic: `timestamp` is within the tolerance and one of the
 * space-separated `v1,<base64>` entries of `signatures` is ours over `id.timestamp.body`.
 */
export async function verifyStandardWebhook(
  secret: string,
  h: { id: string; timestamp: string; signatures: string },
  body: Uint8Array,
  now = Date.now(),
): Promise<boolean> {
  if (!/^\d{1,12}$/.test(h.timestamp)) return false;
  const ts = Number(h.timestamp);
  if (Math.abs(now / 1000 - ts) > TIMESTAMP_TOLERANCE_S) return false;
  const expected = await signWebhook(secret, h.id, ts, body);
  // No early exit: every entry is compared.
  return h.signatures.split(" ").reduce((ok, sig) => sameText(sig, expected) || ok, false);
}

/** A GitHub delivery is authentic: `X-Hub-Signature-256` is `sha256=<hex HMAC of the body>` keyed with the secret's text. */
export async function verifyGitHubSignature(secret: string, header: string, body: Uint8Array): Promise<boolean> {
  const mac = await hmacSha256(enc.encode(secret), body);
  return sameText(header, `sha256=${Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join("")}`);
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
