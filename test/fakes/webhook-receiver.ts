/**
 * A webhook receiver that verifies Standard Webhooks signatures the way a real one would (HMAC-SHA256
 * of "id.timestamp.body" keyed with the whsec_ secret, constant-time compare, 5-minute tolerance).
 * POST /hooks/<key>: keys starting "flaky" fail the first 2 attempts of each webhook-id with 503, "error-once" the first with 500,
 * "down" always 500, "gone" 410. GET /hooks/<key> lists every attempt it saw (for assertions).
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { TEST_WEBHOOK_SECRET } from "../bindings";
import { sendJson, serve, type Fake } from "./http";

/** `raw` and `headers` (the webhook-* ones) as received, so a test can verify them again with a library. */
export type Attempt = { webhookId: string; timestamp: number; verified: boolean; status: number; body: unknown; raw: string; headers: Record<string, string> };

export function verifyStandardWebhook(secret: string, headers: IncomingHttpHeaders, body: string, now = Date.now()): boolean {
  const id = headers["webhook-id"];
  const ts = headers["webhook-timestamp"];
  const sigs = headers["webhook-signature"];
  if (typeof id !== "string" || typeof ts !== "string" || typeof sigs !== "string") return false;
  if (Math.abs(now / 1000 - Number(ts)) > 300) return false;
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  const expected = createHmac("sha256", key).update(`${id}.${ts}.${body}`).digest();
  return sigs.split(" ").some((s) => {
    const [version, b64] = s.split(",");
    const given = Buffer.from(b64 ?? "", "base64");
    return version === "v1" && given.length === expected.length && timingSafeEqual(given, expected);
  });
}

export function startWebhookReceiver(): Promise<Fake> {
  const seen = new Map<string, Attempt[]>();
  return serve((req, body, res) => {
    const key = (req.url ?? "").match(/^\/hooks\/([\w-]+)$/)?.[1];
    if (!key) return sendJson(res, 404, { error: "not found" });
    if (req.method === "GET") return sendJson(res, 200, { attempts: seen.get(key) ?? [] });
    const verified = verifyStandardWebhook(TEST_WEBHOOK_SECRET, req.headers, body);
    const webhookId = String(req.headers["webhook-id"] ?? "");
    const list = seen.get(key) ?? [];
    const tries = list.filter((a) => a.webhookId === webhookId).length;
    let status = verified ? 204 : 401;
    if (verified && key.startsWith("flaky") && tries < 2) status = 503;
    if (verified && key.startsWith("error-once") && tries < 1) status = 500;
    if (verified && key.startsWith("down")) status = 500;
    if (verified && key.startsWith("gone")) status = 410;
    let parsed: unknown = body;
    try {
      parsed = JSON.parse(body);
    } catch {
      /* keep the raw text */
    }
    const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => k.startsWith("webhook-"))) as Record<string, string>;
    list.push({ webhookId, timestamp: Number(req.headers["webhook-timestamp"]), verified, status, body: parsed, raw: body, headers });
    seen.set(key, list);
    res.writeHead(status);
    res.end();
  });
}
