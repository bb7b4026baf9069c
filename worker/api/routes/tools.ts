/** /api/v1/tools: every tool, its argument schema, and its state here (ready, not configured, limited) with the reason. */
import { createRoute, z } from "@hono/zod-openapi";
import { allTools } from "../../tools/registry";
import { toolSpec, toolStatus } from "../../tools/tool";
import { errorResponses } from "../common";
import { jsonContent, newRouter } from "../router";
import { ToolInfo } from "../schemas";

export const tools = newRouter().openapi(
  createRoute({
    method: "get",
    path: "/",
    tags: ["tools"],
    summary: "List the agent's tools with their JSON schemas and their state here: ready, not configured or limited",
    responses: { 200: jsonContent(z.object({ items: z.array(ToolInfo) }), "Every tool"), ...errorResponses },
  }),
  async (c) => {
    const items = await Promise.all(
      allTools().map(async (t) => {
        const { state, reason } = await toolStatus(t, c.env);
        return {
          name: t.name,
          description: t.description,
          inputSchema: toolSpec(t).function.parameters,
          // Kept for older clients: a limited tool is configured (and offered to the model).
          configured: state !== "not_configured",
          state,
          ...(reason === undefined ? {} : { reason }),
        };
      }),
    );
    return c.json({ items }, 200);
  },
);
