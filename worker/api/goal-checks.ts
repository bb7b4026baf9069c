/**
 * Checks on goal input that need the Worker (so they cannot live in schemas.ts, which the CLI bundles):
 * the webhook URL must pass the egress guard the notification is sent through, under this deployment's
 * policy, and allowedTools must name tools that exist (a typo would silently remove a tool).
 */
import { readMoreTool } from "../agent/tool-calls";
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

/** Throws a 400 `validation_error` naming every refused field; the shape matches the schema hook's. */
export function checkGoalInput(env: Env, input: GoalInput): void {
  const issues: { path: string; message: string }[] = [];
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
  const tools = input.params?.allowedTools;
  if (tools) {
    const known = knownToolNames();
    tools.forEach((name, i) => {
      if (!known.includes(name)) issues.push({ path: `params.allowedTools[${i}]`, message: `unknown tool "${name}" (known: ${known.join(", ")})` });
    });
  }
  if (issues.length) throw new ApiError("validation_error", issues.map((i) => `${i.path}: ${i.message}`).join("; "), { issues });
}
