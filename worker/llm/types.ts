/**
 * The contracts of the LLM layer: the one interface the run loop talks to, the provider-neutral
 * conversation it checkpoints, and the token estimate. A leaf: only types and one pure function, so every
 * implementation and the factory import it and nothing imports back.
 */
import type { Provider } from "../domain/vocabulary";
import type { toolSpec } from "../tools/tool";

export type ProviderName = Provider;
export type ToolSpec = ReturnType<typeof toolSpec>;
export type ToolCall = { id: string; name: string; arguments: string };

/** The conversation, provider-neutral and JSON-serialisable (it is what the agent checkpoints). */
export type Message =
  | { role: "system" | "user"; content: string }
  | { role: "assistant"; content: string | null; toolCalls?: ToolCall[] }
  | { role: "tool"; toolCallId: string; name: string; content: string; stepNo?: number };

/**
 * Tokens of one call as the provider reports them. `cached`: of the prompt, served from the provider's
 * cache; `reasoning`: of the completion, spent thinking (both only where the provider says).
 */
export type Usage = { prompt: number; completion: number; cached?: number; reasoning?: number };

/** A model as a provider's catalogue lists it (OpenRouter's `GET /models`): prices are USD per token, as strings. */
export type ListedModel = {
  id: string;
  supported_parameters?: string[];
  pricing?: { prompt?: string; completion?: string; input_cache_read?: string };
};

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
  /** The provider's model catalogue, where it has one with prices (OpenRouter). */
  listModels?(signal?: AbortSignal): Promise<ListedModel[]>;
}

/** Estimated tokens of a request: chars / 4, the same rule the context bound uses. */
export const estimateTokens = (messages: Message[], tools: ToolSpec[] = []) => Math.ceil((JSON.stringify(messages).length + JSON.stringify(tools).length) / 4);

export type ProviderConfig = { provider: ProviderName; model: string };
