/** The fallback capability probe: one tiny request that must come back as a tool call. */
import { z } from "zod";
import { toolSpec, defineTool } from "../tools/tool";
import type { LlmProvider } from "./types";

const probe = toolSpec(
  defineTool({
    name: "report_status",
    description: "Report that tool calling works.",
    input: z.object({ status: z.string().describe('Always "ok"') }),
    execute: async () => ({ text: "ok" }),
  }),
);

export async function sampleToolCall(llm: LlmProvider, signal?: AbortSignal): Promise<{ ok: boolean; reason?: string }> {
  try {
    const reply = await llm.complete({
      messages: [{ role: "user", content: 'Call the report_status tool with status "ok". Do not answer in text.' }],
      tools: [probe],
      signal,
    });
    if (reply.toolCalls.some((t) => t.name === "report_status")) return { ok: true };
    return { ok: false, reason: `${llm.name} model ${llm.model} answered a tool-call probe with text, not a tool call: choose a tool-capable model` };
  } catch (e) {
    return { ok: false, reason: e instanceof Error ? e.message : String(e) };
  }
}
