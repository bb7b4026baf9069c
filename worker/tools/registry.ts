/** Every tool the agent can be given, and the subset a goal may use. */
import type { Env } from "../lib/env";
import type { GoalRow } from "../db/schema";
import { ASK_USER_TOOL } from "../domain/vocabulary";
import { askUserTool } from "./ask-user.tool";
import { sendEmailTool } from "./email.tool";
import { fetchPageTool } from "./fetch-page.tool";
import { listFilesTool, readFileTool, writeFileTool } from "./files.tool";
import { finishTool } from "./finish.tool";
import { recallTool, rememberTool } from "./memory.tool";
import { sendWebhookTool } from "./webhook.tool";
import { updatePlanTool } from "./update-plan.tool";
import { webSearchTool } from "./web-search.tool";
import type { Tool } from "./tool";

let tools: Tool[] | undefined;

/** Every tool, built once per isolate: tools are stateless, and building one builds its zod schema. */
export function allTools(): Tool[] {
  return (tools ??= [
    webSearchTool(),
    fetchPageTool(),
    writeFileTool(),
    readFileTool(),
    listFilesTool(),
    sendWebhookTool(),
    sendEmailTool(),
    rememberTool(),
    recallTool(),
    updatePlanTool(),
    askUserTool(),
    finishTool(),
  ]);
}

/**
 * The goal's tools: its `allowedTools` (all when unset, except ask_user, which a goal must name: a
 * scheduled run nobody watches should not stop to ask) that are configured here; `finish` always.
 */
export function toolsFor(goal: GoalRow, env: Env): Tool[] {
  const allowed = goal.params.allowedTools;
  const wanted = (name: string) => (allowed ? allowed.includes(name) : name !== ASK_USER_TOOL);
  return allTools().filter((t) => t.name === "finish" || (wanted(t.name) && !t.notConfigured?.(env)));
}
