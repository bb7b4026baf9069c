/**
 * Local models often write a tool call as JSON text in `content` (finish_reason "stop") instead of
 * `tool_calls`. We recover it only when it is unambiguous: the whole reply (optionally in a ```json
 * fence or <tool_call> tags) is JSON naming a tool we offered, with an object of arguments.
 * Anything else stays text — a final answer.
 */
import type { ToolCall } from "./types";

type Candidate = { name?: unknown; arguments?: unknown; parameters?: unknown; function?: { name?: unknown; arguments?: unknown } };

function strip(text: string): string {
  let t = text.trim();
  const fence = t.match(/^```(?:json)?\s*([\s\S]*?)\s*```$/);
  if (fence) t = fence[1];
  const tags = [...t.matchAll(/<tool_call>\s*([\s\S]*?)\s*<\/tool_call>/g)];
  if (tags.length && t.replace(/<tool_call>[\s\S]*?<\/tool_call>/g, "").trim() === "") t = `[${tags.map((m) => m[1]).join(",")}]`;
  return t;
}

export function recoverLeakedToolCalls(text: string | null, toolNames: string[]): ToolCall[] {
  if (!text || !/^[\s`<{[]/.test(text)) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(strip(text));
  } catch {
    return [];
  }
  const items = Array.isArray(parsed) ? parsed : [parsed];
  const calls: ToolCall[] = [];
  for (const [i, raw] of items.entries()) {
    if (!raw || typeof raw !== "object") return [];
    const c = raw as Candidate;
    const name = c.function?.name ?? c.name;
    let args = c.function?.arguments ?? c.arguments ?? c.parameters ?? {};
    if (typeof args === "string") {
      try {
        args = JSON.parse(args);
      } catch {
        return [];
      }
    }
    if (typeof name !== "string" || !toolNames.includes(name) || !args || typeof args !== "object" || Array.isArray(args)) return [];
    calls.push({ id: `leaked_${i}_${crypto.randomUUID().slice(0, 8)}`, name, arguments: JSON.stringify(args) });
  }
  return calls;
}
