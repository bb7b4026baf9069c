/**
 * The Resend API's `POST /emails` (Bearer key, Idempotency-Key honoured: a repeated key returns the
 * first id and sends nothing). GET /emails lists what was "sent" (for assertions).
 */
import { TEST_RESEND_KEY } from "../bindings";
import { sendJson, serve, type Fake } from "./http";

type Sent = { id: string; from: string; to: string[]; subject: string; text?: string; idempotencyKey?: string };

export function startResend(): Promise<Fake> {
  const sent: Sent[] = [];
  return serve((req, body, res) => {
    if (req.url === "/emails" && req.method === "GET") return sendJson(res, 200, { data: sent });
    if (req.url !== "/emails" || req.method !== "POST") return sendJson(res, 404, { name: "not_found", message: "Not found" });
    if (req.headers.authorization !== `Bearer ${TEST_RESEND_KEY}`)
      return sendJson(res, 401, { statusCode: 401, name: "validation_error", message: "API key is invalid" });
    const msg = JSON.parse(body) as Partial<Sent>;
    if (!msg.from || !msg.to?.length || !msg.subject)
      return sendJson(res, 422, { statusCode: 422, name: "missing_required_field", message: "from, to and subject are required" });
    const key = req.headers["idempotency-key"] as string | undefined;
    const earlier = key ? sent.find((s) => s.idempotencyKey === key) : undefined;
    if (earlier) return sendJson(res, 200, { id: earlier.id });
    const id = `re_${sent.length + 1}_${Date.now()}`;
    sent.push({ id, from: msg.from, to: msg.to, subject: msg.subject, text: msg.text, idempotencyKey: key });
    sendJson(res, 200, { id });
  });
}
