/**
 * Which tool calls wait for a person, and what the model reads once one is settled. A call waits when
 * its tool is on the goal's `requireApproval` list (an approval; MCP tools by name or `<server>__*`) or
 * is `ask_user` (a question); a call
 * whose arguments do not validate does not wait: it runs into the validation error like any call.
 */
import type { GoalRow, WaitRow } from "../db/schema";
import type { NewWait } from "../db/waits";
import { anyToolNameMatches } from "../domain/tool-names";
import { ASK_USER_TOOL, DEFAULT_WAIT_SECONDS, type WaitKind } from "../domain/vocabulary";
import type { ToolCall } from "../llm/types";
import type { Tool } from "../tools/tool";
import { parseArguments } from "./tool-calls";
import { iso } from "../lib/iso";

export type Gate = { kind: WaitKind; input: Record<string, unknown> };

/** The wait a call needs, with its validated input, or null when it runs at once. */
export function gateOf(goal: GoalRow, call: ToolCall, tool: Tool | undefined): Gate | null {
  if (!tool) return null;
  const gated = goal.params.requireApproval ?? [];
  const approval = anyToolNameMatches(gated, tool.name) || (!!tool.alias && anyToolNameMatches(gated, tool.alias));
  const kind: WaitKind | null = tool.name === ASK_USER_TOOL ? "question" : approval ? "approval" : null;
  if (!kind) return null;
  const parsed = tool.input.safeParse(parseArguments(call.arguments));
  return parsed.success ? { kind, input: parsed.data as Record<string, unknown> } : null;
}

/** The wait row to open for a gated call at `stepNo`. */
export function waitFor(goal: GoalRow, runId: string, stepNo: number, call: ToolCall, gate: Gate, now: number): NewWait {
  const seconds = goal.params.approvalTimeoutSeconds ?? DEFAULT_WAIT_SECONDS;
  const question = gate.kind === "question" ? String(gate.input.question) : null;
  const choices = gate.kind === "question" && Array.isArray(gate.input.choices) ? (gate.input.choices as string[]) : null;
  return {
    runId,
    stepNo,
    kind: gate.kind,
    tool: call.name,
    input: gate.input,
    question,
    choices,
    expiresAt: now + seconds * 1000,
  };
}

/** What the model reads for a settled wait that did not run the call (denied, expired, or answered). */
export function settledObservation(w: WaitRow): string {
  const note = w.response?.trim();
  const at = iso(w.expiresAt);
  if (w.kind === "question") {
    if (w.outcome === "answered") return `The owner answered: ${note ?? ""}`;
    return `no answer before ${at}: decide yourself, or go on without it.`;
  }
  if (w.outcome === "denied") return `denied by the user${note ? `: ${note}` : ""} (the call was not run)`;
  return `denied: no answer before ${at} (the call was not run)`;
}
