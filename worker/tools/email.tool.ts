import { z } from "zod";
import type { Env } from "../lib/env";
import { insertOutput } from "../db/runs";
import type { GoalRow } from "../db/schema";
import { redactSecrets } from "../lib/redact";
import { egressPolicy, guardedFetch } from "../net/guarded-fetch";
import { defineTool, ToolError } from "./tool";

const MAX_BODY_CHARS = 100_000;

export function emailNotConfigured(env: Env): string | null {
  const p = env.EMAIL_PROVIDER;
  if (!p) return null; // no provider: emails are recorded as "not sent", and the tool says so
  if (p !== "cloudflare" && p !== "resend") return `EMAIL_PROVIDER "${p}" is unknown: use cloudflare or resend (or leave it empty)`;
  if (!env.EMAIL_FROM) return "set EMAIL_FROM (the sender address)";
  if (p === "resend" && !env.RESEND_API_KEY) return "set RESEND_API_KEY (EMAIL_PROVIDER=resend)";
  if (p === "cloudflare" && !env.EMAIL) return "add the EMAIL send_email binding to wrangler.toml (EMAIL_PROVIDER=cloudflare)";
  return null;
}

/** Configured but not fully working: no provider (emails are recorded, not sent), or nobody allowed by default. */
export function emailLimited(env: Env): string | null {
  const notes: string[] = [];
  if (!env.EMAIL_PROVIDER) notes.push("emails are recorded, not sent: set EMAIL_PROVIDER (cloudflare or resend) and EMAIL_FROM");
  if (!env.EMAIL_ALLOWED_RECIPIENTS?.trim()) notes.push("EMAIL_ALLOWED_RECIPIENTS is empty: only goals with params.emailRecipients can email");
  return notes.length ? notes.join("; ") : null;
}

/** The goal's own list when it has one, else EMAIL_ALLOWED_RECIPIENTS (addresses or "@domain"). */
export function allowedRecipients(env: Env, goal: GoalRow): string[] {
  const list = goal.params.emailRecipients?.length ? goal.params.emailRecipients : (env.EMAIL_ALLOWED_RECIPIENTS ?? "").split(",");
  return list.map((s) => s.trim().toLowerCase()).filter(Boolean);
}

export function recipientAllowed(to: string, allowed: string[]): boolean {
  const addr = to.trim().toLowerCase();
  return allowed.some((a) => (a.startsWith("@") ? addr.endsWith(a) : addr === a));
}

export type EmailMessage = { to: string; subject: string; text: string };

/**
 * Sends one email through the configured provider; returns the provider's message id. `key` is the
 * idempotency key Resend keeps for 24 h, so the same message sent again after a restart goes out once.
 */
export async function deliverEmail(env: Env, msg: EmailMessage, key: string, signal?: AbortSignal): Promise<string | null> {
  if (env.EMAIL_PROVIDER === "resend") return sendResend(env, msg, key, signal);
  return (await env.EMAIL.send({ from: env.EMAIL_FROM, to: msg.to, subject: msg.subject, text: msg.text })).messageId ?? null;
}

async function sendResend(env: Env, msg: EmailMessage, key: string, signal?: AbortSignal): Promise<string | null> {
  const url = new URL("/emails", env.RESEND_BASE_URL || "https://api.resend.com");
  const res = await guardedFetch(
    url,
    {
      method: "POST",
      signal,
      headers: { authorization: `Bearer ${env.RESEND_API_KEY}`, "content-type": "application/json", "idempotency-key": key },
      body: JSON.stringify({ from: env.EMAIL_FROM, to: [msg.to], subject: msg.subject, text: msg.text }),
    },
    egressPolicy(env),
  );
  const text = res.text();
  if (!res.ok) throw new ToolError(redactSecrets(env, `Resend answered HTTP ${res.status}: ${text.slice(0, 300)}`));
  try {
    const id = (JSON.parse(text) as { id?: unknown }).id;
    return typeof id === "string" ? id : null;
  } catch {
    return null;
  }
}

export const sendEmailTool = () =>
  defineTool({
    name: "send_email",
    description:
      "Send an email to an allowed recipient (the goal's configured list). The body is markdown and is sent as plain text. " +
      "Use it to deliver reports to people.",
    input: z.object({
      to: z.email().describe("Recipient address; must be on the goal's allowed list"),
      subject: z.string().trim().min(1).max(200).describe("Subject line"),
      body_markdown: z.string().min(1).max(MAX_BODY_CHARS).describe("The message, in markdown"),
    }),
    notConfigured: emailNotConfigured,
    limited: emailLimited,
    execute: async ({ to, subject, body_markdown }, ctx) => {
      const why = emailNotConfigured(ctx.env);
      if (why) throw new ToolError(`email is not configured: ${why}`);
      const allowed = allowedRecipients(ctx.env, ctx.goal);
      if (!recipientAllowed(to, allowed))
        throw new ToolError(
          allowed.length
            ? `refused: ${to} is not an allowed recipient (allowed: ${allowed.join(", ")})`
            : `refused: no recipients are allowed; set EMAIL_ALLOWED_RECIPIENTS or the goal's params.emailRecipients`,
        );
      const provider = ctx.env.EMAIL_PROVIDER;
      const record = { to, subject, bodyMarkdown: body_markdown, provider: provider || null };
      if (!provider) {
        await insertOutput(ctx.db, { runId: ctx.runId, kind: "email", payload: { ...record, sent: false, reason: "EMAIL_PROVIDER is not set" } });
        return { text: `Email NOT sent (no email provider is configured: EMAIL_PROVIDER is empty). It was saved as a run output for ${to}.` };
      }
      let messageId: string | null;
      try {
        // A step replayed after a restart carries the same key: Resend sends it once.
        messageId = await deliverEmail(ctx.env, { to, subject, text: body_markdown }, `${ctx.runId}-${ctx.stepNo}`, ctx.signal);
      } catch (e) {
        const reason = redactSecrets(ctx.env, (e as Error).message);
        await insertOutput(ctx.db, { runId: ctx.runId, kind: "email", payload: { ...record, sent: false, reason } });
        throw e instanceof ToolError ? new ToolError(reason) : new ToolError(`sending failed: ${reason}`);
      }
      await insertOutput(ctx.db, { runId: ctx.runId, kind: "email", payload: { ...record, sent: true, messageId } });
      return { text: `Email sent to ${to} via ${provider}.` };
    },
  });
