/** /api/v1/tools: every tool, its argument schema, and whether this deployment has what it needs. */
import { createRoute, z } from "@hono/zod-openapi";
import { allTools } from "../../tools/registry";
import { toolSpec } from "../../tools/tool";
import { errorResponses } from "../common";
import { jsonContent, newRouter } from "../router";
import { ToolInfo } from "../schemas";

export const tools = newRouter().openapi(
  createRoute({
    method: "get",
    path: "/",
    tags: ["tools"],
    summary: "List the agent's tools with their JSON schemas and whether each is configured",
    responses: { 200: jsonContent(z.object({ items: z.array(ToolInfo) }), "Every tool"), ...errorResponses },
  }),
  (c) => {
    const items = allTools().map((t) => {
      const reason = t.notConfigured?.(c.env) ?? null;
      const spec = toolSpec(t).function;
      return {
        name: t.name,
        description: t.description,
        inputSchema: spec.parameters,
        configured: reason === null,
        ...(reason === null ? {} : { reason }),
      };
    });
    return c.json({ items }, 200);
  },
);
