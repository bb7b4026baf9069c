/** /api/v1/goals/:id/trigger: a goal's inbound webhook trigger (the deliveries themselves: routes/hooks.ts). */
import { createRoute } from "@hono/zod-openapi";
import { iso } from "../../lib/iso";
import type { TriggerRow } from "../../db/schema";
import { disableTrigger, enableTrigger, getTrigger } from "../../db/triggers";
import { errorResponses, IdParam } from "../common";
import { jsonContent, newRouter } from "../router";
import { InboundTrigger, InboundTriggerWithSecret } from "../schemas";
import { goalOr404 } from "./goals";

const tags = ["triggers"];
const isoOrNull = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : iso(ms));

/** The trigger as the API shows it: never its secret. */
function presentTrigger(origin: string, t: TriggerRow | undefined) {
  const enabled = !!t?.secret;
  return {
    enabled,
    url: enabled && t ? `${origin}/hooks/${t.hookId}` : null,
    enabledAt: isoOrNull(t?.enabledAt),
    secretCreatedAt: isoOrNull(enabled ? t?.secretCreatedAt : null),
    lastFiredAt: isoOrNull(t?.lastFiredAt),
  };
}

const originOf = (url: string) => new URL(url).origin;

export const triggers = newRouter()
  .openapi(
    createRoute({
      method: "post",
      path: "/{id}/trigger",
      tags,
      summary: "Enable the goal's inbound webhook trigger, or rotate its secret: answers with the URL and the secret, shown only here",
      request: { params: IdParam },
      responses: { 201: jsonContent(InboundTriggerWithSecret, "The trigger with its new secret"), ...errorResponses },
    }),
    async (c) => {
      const goal = await goalOr404(c.var.db, c.req.valid("param").id);
      const { secret, row } = await enableTrigger(c.var.db, goal.id);
      // The secret is in this answer only: no log line carries it.
      return c.json({ ...presentTrigger(originOf(c.req.url), row), secret }, 201);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/{id}/trigger",
      tags,
      summary: "Whether the goal's trigger is enabled, its URL and when it last fired (never the secret)",
      request: { params: IdParam },
      responses: { 200: jsonContent(InboundTrigger, "The trigger"), ...errorResponses },
    }),
    async (c) => {
      const goal = await goalOr404(c.var.db, c.req.valid("param").id);
      return c.json(presentTrigger(originOf(c.req.url), await getTrigger(c.var.db, goal.id)), 200);
    },
  )
  .openapi(
    createRoute({
      method: "delete",
      path: "/{id}/trigger",
      tags,
      summary: "Disable the goal's trigger: its secret is forgotten and deliveries are refused (401)",
      request: { params: IdParam },
      responses: { 204: { description: "Disabled (or was not enabled)" }, ...errorResponses },
    }),
    async (c) => {
      const goal = await goalOr404(c.var.db, c.req.valid("param").id);
      await disableTrigger(c.var.db, goal.id);
      return c.body(null, 204);
    },
  );
