/**
 * Checks on goal input that need the Worker (so they cannot live in schemas.ts, which the CLI bundles):
 * the webhook URL must pass the egress guard the notification is sent through, under this deployment's
 * policy, allowedTools must name tools that exist (a typo would silently remove a tool), and the MCP
 * servers a goal names (params.mcpServers, and the <server>__ of MCP tool names) must be registered.
 */
import { readMoreTool } from "../agent/tool-calls";
import type { Db } from "../db/client";
import { listMcpServers } from "../db/mcp-servers";
import { mcpServerOf } from "../domain/tool-names";
import type { Env } from "../lib/env";
import { checkUrl, egressPolicy, EgressError } from "../net/guarded-fetch";
import { allTools } from "../tools/registry";
import { ApiError } from "./errors";
import type { GoalParams } from "../domain/schemas";

/** Every tool name a goal may list: the registry's, plus the loop's own read_more (always offered). */
export function knownToolNames(): string[] {
  return [...allTools().map((t) => t.name), readMoreTool().name];
}

type GoalInput = { webhookUrl?: string | null; params?: GoalParams };

type Issue = { path: string; message: string };

/**
 * The issues of a list of tool names or patterns (`field` is its path, e.g. "params.allowedTools"): a
 * built-in name must exist; an MCP name (`<server>__<tool>`, `<server>__*`) must name a registered server
 * (its tools may change, so a tool name itself is not checked).
 */
export function toolNameIssues(field: string, names: readonly string[], servers: readonly string[]): Issue[] {
  const known = knownToolNames();
  return names.flatMap((name, i) => {
    const server = mcpServerOf(name);
    if (server === null && !known.includes(name)) return [{ path: `${field}[${i}]`, message: `unknown tool "${name}" (known: ${known.join(", ")})` }];
    if (server !== null && !servers.includes(server))
      return [{ path: `${field}[${i}]`, message: `unknown MCP server "${server}" in "${name}" (registered: ${servers.join(", ") || "none"})` }];
    return [];
  });
}

/** Throws a 400 `validation_error` naming every refused field; the shape matches the schema hook's. */
export async function checkGoalInput(env: Env, db: Db, input: GoalInput): Promise<void> {
  const issues: Issue[] = [];
  if (input.webhookUrl) {
    // The same policy the run-ended notification uses (egressPolicy without a goal: its domain lists
    // govern the agent's tools, not the operator-chosen webhook).
    try {
      checkUrl(input.webhookUrl, egressPolicy(env));
    } catch (e) {
      if (!(e instanceof EgressError)) throw e;
      issues.push({ path: "webhookUrl", message: `${e.message}; notifications could never be delivered to it` });
    }
  }
  const params = input.params;
  const wantsMcp = !!params?.mcpServers?.length || [...(params?.allowedTools ?? []), ...(params?.requireApproval ?? [])].some((n) => mcpServerOf(n) !== null);
  // One query, only when a name needs it: the registry is small (a handful of servers).
  const servers = wantsMcp ? (await listMcpServers(db)).map((s) => s.name) : [];
  params?.mcpServers?.forEach((name, i) => {
    if (!servers.includes(name))
      issues.push({
        path: `params.mcpServers[${i}]`,
        message: `unknown MCP server "${name}" (registered: ${servers.join(", ") || "none"}; POST /mcp-servers adds one)`,
      });
  });
  if (params?.allowedTools) issues.push(...toolNameIssues("params.allowedTools", params.allowedTools, servers));
  if (params?.requireApproval) issues.push(...toolNameIssues("params.requireApproval", params.requireApproval, servers));
  if (issues.length) throw new ApiError("validation_error", issues.map((i) => `${i.path}: ${i.message}`).join("; "), { issues });
}
