/**
 * The tool interface. A tool is a factory-made object with a zod input (its `.describe()`d fields are
 * what the model reads), an `execute` that returns the observation text, and optionally a check of
 * whether the deployment has what it needs. The run loop validates arguments with `input`, applies
 * the timeout, and turns a thrown ToolError (or any error) into an observation the model can read.
 */
import { z } from "zod";
import type { Db } from "../db/client";
import type { Env } from "../lib/env";
import type { GoalRow, OutputRow } from "../db/schema";
import type { Provenance } from "./fetch-policy";

/** A file saved in the goal's R2 space (key under goalPrefix), as a journaled write carries it. */
export type FileWrite = { key: string; content: string; contentType: string; runId: string };

/**
 * What a journaled tool leaves for the run to write with its step (agent/step-writer.ts): an output row and,
 * for a saved file, its content, put in R2 once the D1 batch that records the step has committed.
 */
export type Effect = { output: OutputRow; file?: FileWrite };

export type ToolContext = {
  env: Env;
  db: Db;
  goal: GoalRow;
  runId: string;
  stepNo: number;
  /** Aborted on the per-tool timeout and on run cancellation: pass it to every fetch. */
  signal: AbortSignal;
  /** The URLs this run may fetch (see fetch-policy.ts). */
  provenance: Provenance;
  /** Hands an effect to the run, to be written with this call's step (in the same D1 batch; a file's content goes to R2 right after it). */
  journal: (effect: Effect) => void;
};

export type ToolOutput = {
  /** What the model sees as the tool result. */
  text: string;
  /** Set by tools that end the run (finish): the run's final summary, markdown. */
  end?: { summary: string };
};

export type Tool<I extends z.ZodType = z.ZodType> = {
  name: string;
  description: string;
  input: I;
  /**
   * The tool's only effects go through `ctx.journal` (or it has none): it may run while earlier steps are
   * still being written, since what it does is written after them. Any other tool waits until they are recorded.
   */
  journaled?: true;
  /** Per-call timeout; the loop's default applies when absent. */
  timeoutMs?: number;
  /**
   * The JSON Schema the model is shown, when the tool's own schema is JSON Schema rather than zod (an MCP
   * server's tool): `input` then validates against it, and this is sent as it came.
   */
  parameters?: Record<string, unknown>;
  /** Values this tool's results must never show (an MCP server's header values): redacted from every observation of the run, like the env's secrets. */
  secrets?: readonly string[];
  /**
   * For tools whose results show outside URLs (search results, a page's links): the URLs in a successful
   * result, as stored, that the agent may fetch next. A pure function of the text, so a resumed run
   * rebuilds the same set from its stored steps.
   */
  links?: (result: string) => string[];
  /** null when usable; otherwise why not, naming the variable to set. A tool that is not configured is hidden from the model. */
  notConfigured?: (env: Env) => string | null;
  /**
   * Configured, but working only in part (emails recorded, not sent; the search endpoint not
   * answering): why, naming the variable; null otherwise. The tool stays available to the model.
   * May probe cheaply; only `GET /tools` asks.
   */
  limited?: (env: Env) => string | null | Promise<string | null>;
  /**
   * Another name the tool answers to in requireApproval: an MCP tool's `<server>__<tool as the server names it>`,
   * so a server cannot move a gated name onto another tool by listing a look-alike first (names are cleaned
   * and de-duplicated for the providers, see domain/tool-names.ts).
   */
  alias?: string;
  execute: (input: z.infer<I>, ctx: ToolContext) => Promise<ToolOutput>;
};

/** What `GET /tools` reports for a tool: usable; missing a variable (hidden from the model); usable in part. */
export type ToolState = "ready" | "not_configured" | "limited";

/** The tool's state here, with the reason (naming the variable to set) unless it is ready. */
export async function toolStatus(tool: Tool, env: Env): Promise<{ state: ToolState; reason?: string }> {
  const missing = tool.notConfigured?.(env);
  if (missing) return { state: "not_configured", reason: missing };
  const limited = await tool.limited?.(env);
  return limited ? { state: "limited", reason: limited } : { state: "ready" };
}

/** A failure the model should read and react to (bad URL, unknown file...), not a crash. */
export class ToolError extends Error {}

export function defineTool<I extends z.ZodType>(tool: Tool<I>): Tool {
  return tool as unknown as Tool;
}

const specs = new WeakMap<Tool, { type: "function"; function: { name: string; description: string; parameters: Record<string, unknown> } }>();

/** The OpenAI function-calling spec of a tool, converted once per tool (JSON Schema from zod is not free). */
export function toolSpec(tool: Tool) {
  let spec = specs.get(tool);
  if (!spec) {
    const { $schema: _drop, ...parameters } = tool.parameters ?? (z.toJSONSchema(tool.input, { io: "input" }) as Record<string, unknown>);
    specs.set(tool, (spec = { type: "function" as const, function: { name: tool.name, description: tool.description, parameters } }));
  }
  return spec;
}
