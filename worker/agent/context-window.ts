/**
 * Keeps every LLM request bounded however long a run gets or however big its tools' results are.
 * - Each observation enters the conversation capped at OBSERVATION_CAP chars, with a note telling
 *   the model how to read the rest in windows (`read_more`, which reads the stored step).
 * - Observations older than the last KEEP_RECENT tool results are compacted to a short head.
 * - If a request would still exceed REQUEST_TOKEN_TARGET (chars/4), older assistant text and the
 *   remaining observations are compacted too, oldest first.
 * With 20 steps of 200 KB results this stays well under 16k tokens (see the context test/bench).
 */
import { estimateTokens, type Message, type ToolSpec } from "../llm/types";

export const OBSERVATION_CAP = 6000;
export const COMPACT_HEAD = 240;
export const KEEP_RECENT = 3;
export const REQUEST_TOKEN_TARGET = 12_000;

/** A tool message as it enters the conversation: capped, with how to read the rest (`total`: the full result's length). */
export function capObservation(text: string, stepNo: number, total = text.length): string {
  if (text.length <= OBSERVATION_CAP) return text;
  return `${text.slice(0, OBSERVATION_CAP)}\n[showing chars 0-${OBSERVATION_CAP} of ${total}; call read_more with step=${stepNo} and offset=${OBSERVATION_CAP} to read on]`;
}

const COMPACTED = "[compacted]";

function compactText(text: string, note: string): string {
  if (text.length <= COMPACT_HEAD + 80 || text.endsWith(COMPACTED)) return text;
  return `${text.slice(0, COMPACT_HEAD)}… (${text.length} chars; ${note}) ${COMPACTED}`;
}

function compactTool(m: Extract<Message, { role: "tool" }>): Message {
  const note = m.stepNo === undefined ? "older result" : `read_more step=${m.stepNo} offset=0 to read it again`;
  return { ...m, content: compactText(m.content, note) };
}

/**
 * Returns a compacted copy. Tool messages carry their step number, so the compaction note says how
 * to read them again. The system prompt and the first user message are never touched.
 */
export function boundConversation(messages: Message[], tools: ToolSpec[], target = REQUEST_TOKEN_TARGET): Message[] {
  const toolIdx = messages.flatMap((m, i) => (m.role === "tool" ? [i] : []));
  const recent = new Set(toolIdx.slice(-KEEP_RECENT));
  const out = messages.map((m, i) => (m.role === "tool" && !recent.has(i) ? compactTool(m) : m));
  if (estimateTokens(out, tools) <= target) return out;
  // Still too big: compact old assistant text, then the recent observations, oldest first.
  const lastUser = 2;
  for (let i = lastUser; i < out.length && estimateTokens(out, tools) > target; i++) {
    const m = out[i];
    if (m.role === "tool") out[i] = compactTool(m);
    else if (m.role === "assistant" && m.content) out[i] = { ...m, content: compactText(m.content, "earlier reasoning") };
  }
  return out;
}
