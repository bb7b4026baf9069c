/** /api/v1/tools: every tool (built in, and those of registered MCP servers), its argument schema, and its state here (ready, not configured, limited) with the reason. */
import { createRoute, z } from "@hono/zod-openapi";
import { listMcpServers } from "../../db/mcp-servers";
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
    // A registered MCP server's tools, as the model sees them: limited while its last listing failed.
    const mcp = (await listMcpServers(c.var.db)).flatMap((s) =>
      s.tools.map((t) => ({
        name: t.name,
        description: t.description,
        inputSchema: t.inputSchema,
        configured: true,
        state: s.status === "ready" ? ("ready" as const) : ("limited" as const),
        ...(s.status === "ready" ? {} : { reason: `the last listing of MCP server ${s.name} failed: ${s.lastError}` }),
        source: `mcp:${s.name}`,
      })),
    );
    return c.json({ items: [...items.map((t) => ({ ...t, source: "builtin" })), ...mcp] }, 200);
  },
);
