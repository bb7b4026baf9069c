/** OpenAI and OpenRouter: the same chat-completions protocol through the `openai` SDK. */
import OpenAI from "openai";
import type { ChatCompletionMessageParam } from "openai/resources/chat/completions";
import type { Env } from "../lib/env";
import { classify, REQUEST_TIMEOUT_MS, withRetry } from "./retry";
import { PROVIDER_ENV } from "../domain/vocabulary";
import { LlmError } from "./errors";
import type { CompleteRequest, Completion, ListedModel, LlmProvider, Message, ProviderName } from "./types";
import { sampleToolCall } from "./sample";

const OPENROUTER_DEFAULT = "https://openrouter.ai/api/v1";
/** OpenRouter's documented attribution headers (app URL and title on openrouter.ai rankings). */
export const OPENROUTER_HEADERS = { "HTTP-Referer": "https://github.com/async-agent/async-agent", "X-Title": "async-agent" };

/** Tool-capable OpenAI model families; other names get one sample tool call. */
const OPENAI_TOOL_MODELS = /^(gpt-5|gpt-4\.1|gpt-4o|gpt-4-turbo|gpt-4-\d|gpt-4$|gpt-3\.5-turbo|o1(?!-mini)|o3|o4)/;

export function toOpenAIMessages(messages: Message[]): ChatCompletionMessageParam[] {
  return messages.map((m): ChatCompletionMessageParam => {
    if (m.role === "tool") return { role: "tool", tool_call_id: m.toolCallId, content: m.content };
    if (m.role === "assistant")
      return {
        role: "assistant",
        content: m.content,
        ...(m.toolCalls?.length
          ? { tool_calls: m.toolCalls.map((t) => ({ id: t.id, type: "function" as const, function: { name: t.name, arguments: t.arguments } })) }
          : {}),
      };
    return { role: m.role, content: m.content };
  });
}

export class OpenAICompatibleProvider implements LlmProvider {
  private readonly client: OpenAI;
  private readonly baseURL: string;

  constructor(
    env: Env,
    readonly name: Exclude<ProviderName, "ollama">,
    readonly model: string,
  ) {
    const vars = PROVIDER_ENV[name];
    const key = env[vars.key];
    if (!key) throw new LlmError(`${name} model ${model}: no API key: set ${vars.key}`, true);
    this.baseURL = env[vars.baseUrl] || (name === "openai" ? "https://api.openai.com/v1" : OPENROUTER_DEFAULT);
    this.client = new OpenAI({
      apiKey: key,
      baseURL: this.baseURL,
      // Our own retry loop (retry.ts) owns backoff so every provider behaves the same.
      maxRetries: 0,
      timeout: REQUEST_TIMEOUT_MS,
      defaultHeaders: { "User-Agent": "async-agent", ...(name === "openrouter" ? OPENROUTER_HEADERS : {}) },
    });
  }

  async complete(req: CompleteRequest): Promise<Completion> {
    return withRetry(
      async () => {
        try {
          const res = await this.client.chat.completions.create(
            {
              model: this.model,
              messages: toOpenAIMessages(req.messages),
              ...(req.tools.length ? { tools: req.tools, ...(req.toolChoice ? { tool_choice: req.toolChoice } : {}) } : {}),
            },
            { signal: req.signal },
          );
          const msg = res.choices[0]?.message;
          if (!msg) throw new LlmError(`${this.name} model ${this.model}: the reply has no choices`, false);
          const toolCalls = (msg.tool_calls ?? []).flatMap((t) =>
            t.type === "function" ? [{ id: t.id, name: t.function.name, arguments: t.function.arguments ?? "" }] : [],
          );
          return {
            text: msg.content ?? null,
            toolCalls,
            usage: {
              prompt: res.usage?.prompt_tokens ?? 0,
              completion: res.usage?.completion_tokens ?? 0,
              cached: res.usage?.prompt_tokens_details?.cached_tokens ?? 0,
              reasoning: res.usage?.completion_tokens_details?.reasoning_tokens ?? 0,
            },
          };
        } catch (e) {
          throw classify(e, this.name, this.model);
        }
      },
      { signal: req.signal },
    );
  }

  async checkToolCalling(signal?: AbortSignal): Promise<{ ok: boolean; reason?: string }> {
    if (this.name === "openai") {
      if (OPENAI_TOOL_MODELS.test(this.model)) return { ok: true };
      return sampleToolCall(this, signal);
    }
    try {
      const entry = (await this.listModels(signal)).find((m) => m.id === this.model);
      if (!entry) return { ok: false, reason: `openrouter has no model "${this.model}": set OPENROUTER_MODEL to an id from ${this.baseURL}/models` };
      if (!entry.supported_parameters?.includes("tools"))
        return { ok: false, reason: `openrouter model ${this.model} does not support tool calling: pick a model whose supported_parameters include "tools"` };
      return { ok: true };
    } catch (e) {
      return { ok: false, reason: classify(e, this.name, this.model).message };
    }
  }

  /** OpenRouter's catalogue: each model's supported parameters and prices. */
  async listModels(signal?: AbortSignal): Promise<ListedModel[]> {
    return (await this.client.get<{ data?: ListedModel[] }>("/models", { signal })).data ?? [];
  }
}
