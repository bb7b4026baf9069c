/**
 * Executes the tool calls of one model turn: arguments parsed (and repaired where unambiguous),
 * validated with the tool's zod schema, run with a per-tool timeout. Every failure — bad JSON,
 * schema mismatch, unknown tool, timeout, a thrown error — becomes an observation the model reads
 * and a step with `error` set; nothing here throws at the loop.
 */
import { z } from "zod";
import { redactSecrets } from "../lib/redact";
import type { ToolCall } from "../llm/types";
import { defineTool, type Tool, type ToolContext, type ToolOutput } from "../tools/tool";
import { OBSERVATION_CAP } from "./context-window";
import { readStoredObservation } from "../db/steps";

export const DEFAULT_TOOL_TIMEOUT_MS = 60_000;

export type CallResult = {
  call: ToolCall;
  input: unknown;
  observation: string;
  error: string | null;
  end?: { summary: string };
  durationMs: number;
};

/** JSON.parse, then a few unambiguous repairs of what local models emit. null when none parses. */
export function parseArguments(raw: string): unknown {
  const attempts = [raw, raw.trim() === "" ? "{}" : raw, raw.trim().replace(/^```(?:json)?\s*|\s*```$/g, ""), raw.replace(/,\s*([}\]])/g, "$1")];
  // A reply cut off after the last value: close the open braces/brackets.
  const opens = [...raw].reduce<string[]>((st, ch) => {
    if (ch === "{") st.push("}");
    else if (ch === "[") st.push("]");
    else if ((ch === "}" || ch === "]") && st.at(-1) === ch) st.pop();
    return st;
  }, []);
  if (opens.length) attempts.push(raw.trimEnd().replace(/,$/, "") + opens.reverse().join(""));
  for (const a of attempts) {
    try {
      const v: unknown = JSON.parse(a);
      // Some models double-encode: "{\"q\":1}".
      if (typeof v === "string") {
        const inner: unknown = JSON.parse(v);
        if (inner && typeof inner === "object") return inner;
      }
      if (v && typeof v === "object" && !Array.isArray(v)) return v;
    } catch {
      /* next repair */
    }
  }
  return null;
}

const issuesText = (e: z.ZodError) => e.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");

async function withTimeout(p: Promise<ToolOutput>, signal: AbortSignal): Promise<ToolOutput> {
  if (signal.aborted) throw signal.reason;
  // Race the signal too: a tool that ignores its AbortSignal must not hold the run.
  return Promise.race([p, new Promise<never>((_, reject) => signal.addEventListener("abort", () => reject(signal.reason), { once: true }))]);
}

export async function runToolCall(call: ToolCall, tools: Map<string, Tool>, ctx: Omit<ToolContext, "signal">, runSignal: AbortSignal): Promise<CallResult> {
  const started = Date.now();
  // Whatever a tool says reaches the model, D1 and the API: configured secrets never do, nor the values
  // any of the run's tools holds (an MCP server's header values), whichever tool's result shows them.
  const secrets = [...tools.values()].flatMap((t) => t.secrets ?? []);
  const done = (r: Omit<CallResult, "call" | "durationMs">): CallResult => ({
    call,
    durationMs: Date.now() - started,
    ...r,
    observation: redactSecrets(ctx.env, r.observation, secrets),
    error: r.error === null ? null : redactSecrets(ctx.env, r.error, secrets),
  });
  const tool = tools.get(call.name);
  if (!tool) {
    const msg = `unknown tool "${call.name}"; available tools: ${[...tools.keys()].join(", ")}`;
    return done({ input: call.arguments, observation: `Error: ${msg}`, error: msg });
  }
  const args = parseArguments(call.arguments);
  if (args === null) {
    const msg = `the arguments of ${call.name} are not valid JSON: ${call.arguments.slice(0, 200)}`;
    return done({ input: call.arguments, observation: `Error: ${msg}. Call the tool again with a JSON object.`, error: msg });
  }
  const parsed = tool.input.safeParse(args);
  if (!parsed.success) {
    const msg = `invalid arguments for ${call.name}: ${issuesText(parsed.error)}`;
    return done({ input: args, observation: `Error: ${msg}. Fix the arguments and call it again.`, error: msg });
  }
  const timeoutMs = tool.timeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS;
  const signal = AbortSignal.any([runSignal, AbortSignal.timeout(timeoutMs)]);
  try {
    const out = await withTimeout(tool.execute(parsed.data, { ...ctx, signal }), signal);
    return done({ input: args, observation: out.text, error: null, end: out.end });
  } catch (e) {
    if (runSignal.aborted) throw e;
    const timedOut = signal.aborted;
    const msg = timedOut ? `${call.name} timed out after ${timeoutMs} ms` : `${call.name} failed: ${e instanceof Error ? e.message : String(e)}`;
    return done({ input: args, observation: `Error: ${msg}`, error: msg });
  }
}

/** The loop's own tool: read a long result in windows (it was capped in the conversation). Built once per isolate. */
export const readMoreTool = () => (readMore ??= buildReadMore());
let readMore: Tool | undefined;
const buildReadMore = () =>
  defineTool({
    name: "read_more",
    description: "Read more of a long tool result of this run, in windows, by its step number.",
    input: z.object({
      step: z.int().min(1).describe("The step number named in the truncation note"),
      offset: z.int().min(0).default(0).describe("Character offset to start reading at"),
    }),
    execute: async ({ step, offset }, ctx) => {
      const text = await readStoredObservation(ctx.db, ctx.runId, step);
      if (text === null) return { text: `Error: step ${step} has no stored result` };
      const window = text.slice(offset, offset + OBSERVATION_CAP - 200);
      const next = offset + window.length;
      return {
        text:
          window +
          (next < text.length
            ? `\n[chars ${offset}-${next} of ${text.length}; read_more step=${step} offset=${next} for more]`
            : `\n[end of step ${step}'s stored result]`),
      };
    },
  });
