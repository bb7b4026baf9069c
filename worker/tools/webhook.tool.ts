import { z } from "zod";
import { insertOutput } from "../db/runs";
import { domainMatches, egressPolicy, EgressError, checkUrl } from "../net/guarded-fetch";
import { deliverWebhook, webhookNotConfigured } from "../net/webhook-signing";
import { defineTool, ToolError, type ToolContext } from "./tool";
import { iso } from "../lib/iso";

const MAX_BODY_BYTES = 256 * 1024;

/**
 * Where the model may post: the goal's own webhook URL, or a URL on one of the goal's allowedDomains.
 * Anything else is refused, so a prompt-injected page cannot make the agent post data elsewhere.
 */
function target(url: string | undefined, ctx: ToolContext): string {
  const own = ctx.goal.webhookUrl;
  if (!url) {
    if (!own) throw new ToolError("this goal has no webhook URL: pass a url on one of the goal's allowedDomains");
    return own;
  }
  if (own && url === own) return own;
  let parsed: URL;
  try {
    parsed = checkUrl(url, egressPolicy(ctx.env, ctx.goal));
  } catch (e) {
    throw new ToolError(e instanceof EgressError ? e.message : String(e));
  }
  const allowed = ctx.goal.params.allowedDomains ?? [];
  if (!allowed.some((d) => domainMatches(parsed, d)))
    throw new ToolError(`refused ${parsed.hostname}: webhooks go to the goal's webhook URL or a host on its allowedDomains`);
  return url;
}

export const sendWebhookTool = () =>
  defineTool({
    name: "send_webhook",
    description:
      "POST a JSON payload to the goal's webhook (or to a URL on the goal's allowed domains), signed so the receiver can " +
      "verify it came from this agent. Use it to notify the user's systems of results.",
    input: z.object({
      url: z.string().max(2048).optional().describe("Leave empty to use the goal's webhook URL"),
      payload: z.record(z.string(), z.unknown()).describe("The JSON object to send"),
    }),
    notConfigured: webhookNotConfigured,
    execute: async ({ url, payload }, ctx) => {
      const why = webhookNotConfigured(ctx.env);
      if (why) throw new ToolError(`webhooks are not configured: ${why}`);
      const to = target(url, ctx);
      const body = JSON.stringify({
        type: "agent.message",
        timestamp: iso(Date.now()),
        data: { goalId: ctx.goal.id, runId: ctx.runId, payload },
      });
      if (new TextEncoder().encode(body).byteLength > MAX_BODY_BYTES) throw new ToolError(`payload is over ${MAX_BODY_BYTES / 1024} KB`);
      // Stable per step: a step replayed after a restart re-sends with the same id and the receiver dedupes.
      const id = `msg_${ctx.runId}_${ctx.stepNo}`;
      // The goal's own webhook URL was set by its owner, not the model: the domain lists do not apply to it.
      const policy = to === ctx.goal.webhookUrl ? egressPolicy(ctx.env) : egressPolicy(ctx.env, ctx.goal);
      const d = await deliverWebhook(ctx.env, { url: to, id, body, policy, signal: ctx.signal });
      const host = new URL(to).host;
      await insertOutput(ctx.db, {
        runId: ctx.runId,
        kind: "webhook",
        payload: { type: "agent.message", webhookId: id, host, delivered: d.delivered, status: d.status, attempts: d.attempts, error: d.error },
      });
      if (!d.delivered) throw new ToolError(`webhook to ${host} failed after ${d.attempts} attempt(s): ${d.error}`);
      return { text: `Webhook delivered to ${host} (HTTP ${d.status}, id ${id}).` };
    },
  });
