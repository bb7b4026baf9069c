/**
 * The one LLM interface the run loop talks to, and `providerFor(env, goal)`, which picks the provider
 * explicitly from configuration (LLM_PROVIDER, or the goal's params.provider/params.model). There is
 * no fallback: a missing key or model is an error the run reports.
 */
import type { Env } from "../lib/env";
import type { GoalRow } from "../db/schema";
import type { toolSpec } from "../tools/tool";
import { PROVIDERS } from "../domain/vocabulary";
import { OllamaProvider } from "./ollama";
import { OpenAICompatibleProvider } from "./openai-compatible";

export type ProviderName = (typeof PROVIDERS)[number];
export type ToolSpec = ReturnType<typeof toolSpec>;
export type ToolCall = { id: string; name: string; arguments: string };

/** The conversation, provider-neutral and JSON-serialisable (it is what the agent checkpoints). */
export type Message =
  | { role: "system" | "user"; content: string }
  | { role: "assistant"; content: string | null; toolCalls?: ToolCall[] }
  | { role: "tool"; toolCallId: string; name: string; content: string; stepNo?: number };

export type Usage = { prompt: number; completion: number };

export type Completion = {
  text: string | null;
  toolCalls: ToolCall[];
  usage: Usage;
  /** Something the run should record (e.g. Ollama truncated the prompt). */
  warning?: string;
};

/**
 * `toolChoice: "none"` is the closing turn: tools stay declared (some providers refuse a history with
 * tool calls but no tools) and the model may not call them.
 */
export type CompleteRequest = { messages: Message[]; tools: ToolSpec[]; toolChoice?: "none"; signal?: AbortSignal };

export interface LlmProvider {
  readonly name: ProviderName;
  readonly model: string;
  complete(req: CompleteRequest): Promise<Completion>;
  /** Can this provider+model do tool calling? (see validate.ts for the cache) */
  checkToolCalling(signal?: AbortSignal): Promise<{ ok: boolean; reason?: string }>;
}

/**
 * An LLM failure. `fatal` ones (bad key, unknown model, refused request) end the run at once;
 * the others are retried with backoff. The message names provider, model and the fix.
 */
export class LlmError extends Error {
  constructor(
    message: string,
    readonly fatal: boolean,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** Estimated tokens of a request: chars / 4, the same rule the context bound uses. */
export const estimateTokens = (messages: Message[], tools: ToolSpec[] = []) => Math.ceil((JSON.stringify(messages).length + JSON.stringify(tools).length) / 4);

export type ProviderConfig = { provider: ProviderName; model: string };

/** The provider and model a goal runs with: its params override the deployment's LLM_PROVIDER. */
export function configFor(env: Env, goal?: Pick<GoalRow, "params"> | null, override?: Partial<ProviderConfig>): ProviderConfig {
  const raw = override?.provider ?? goal?.params.provider ?? env.LLM_PROVIDER;
  if (!(PROVIDERS as readonly string[]).includes(raw))
    throw new LlmError(`LLM_PROVIDER "${raw}" is not one of ${PROVIDERS.join(", ")}: set LLM_PROVIDER`, true);
  const provider = raw as ProviderName;
  const envModel = { openai: env.OPENAI_MODEL, openrouter: env.OPENROUTER_MODEL, ollama: env.OLLAMA_MODEL }[provider];
  const model = override?.model ?? goal?.params.model ?? envModel;
  if (!model) throw new LlmError(`${provider}: no model configured: set ${provider.toUpperCase()}_MODEL`, true);
  return { provider, model };
}

export function providerFor(env: Env, goal?: Pick<GoalRow, "params"> | null, override?: Partial<ProviderConfig>): LlmProvider {
  const { provider, model } = configFor(env, goal, override);
  if (provider === "ollama") return new OllamaProvider(env, model);
  return new OpenAICompatibleProvider(env, provider, model);
}
