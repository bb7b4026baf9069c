/**
 * Ollama, usually through a tunnel (Cloudflare Tunnel, optionally behind Access). We use the native
 * /api/chat rather than the OpenAI-compatible /v1: /v1 ignores `num_ctx` and silently truncates long
 * prompts to the model's default window (2–4k tokens), which breaks multi-step runs. The `openai`
 * SDK still carries the requests (its generic post/get), so errors, timeouts and headers match the
 * other providers.
 */
import OpenAI from "openai";
import type { Env } from "../lib/env";
import { recoverLeakedToolCalls } from "./leaked";
import { LlmError } from "./errors";
import { classify, REQUEST_TIMEOUT_MS, withRetry } from "./retry";
import { type CompleteRequest, type Completion, estimateTokens, type LlmProvider, type Message } from "./types";
import { sampleToolCall } from "./sample";

const MIN_CTX = 8192;
const MAX_CTX = 131_072;
/** Room for the reply on top of the prompt. */
const OUTPUT_TOKENS = 4096;

type OllamaToolCall = { function: { name: string; arguments: Record<string, unknown> | string } };
type OllamaChatResponse = {
  message?: { content?: string; tool_calls?: OllamaToolCall[] };
  done_reason?: string;
  prompt_eval_count?: number;
  eval_count?: number;
};

/** The context window a request needs: prompt estimate + reply room, rounded up to 2k, bounded. */
export const numCtxFor = (estimate: number) => Math.min(MAX_CTX, Math.max(MIN_CTX, Math.ceil((estimate + OUTPUT_TOKENS) / 2048) * 2048));

function parseArgs(s: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(s);
    return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function toOllamaMessages(messages: Message[]) {
  return messages.map((m) => {
    if (m.role === "tool") return { role: "tool", content: m.content, tool_name: m.name };
    if (m.role === "assistant")
      return {
        role: "assistant",
        content: m.content ?? "",
        ...(m.toolCalls?.length ? { tool_calls: m.toolCalls.map((t) => ({ function: { name: t.name, arguments: parseArgs(t.arguments) } })) } : {}),
      };
    return { role: m.role, content: m.content };
  });
}

export class OllamaProvider implements LlmProvider {
  readonly name = "ollama" as const;
  private readonly client: OpenAI;

  constructor(
    env: Env,
    readonly model: string,
  ) {
    if (!env.OLLAMA_BASE_URL) throw new LlmError(`ollama model ${model}: no tunnel URL: set OLLAMA_BASE_URL`, true);
    const access: Record<string, string> =
      env.CF_ACCESS_CLIENT_ID && env.CF_ACCESS_CLIENT_SECRET
        ? { "CF-Access-Client-Id": env.CF_ACCESS_CLIENT_ID, "CF-Access-Client-Secret": env.CF_ACCESS_CLIENT_SECRET }
        : {};
    this.client = new OpenAI({
      // Ollama needs no key; a tunnel may want a bearer (OLLAMA_API_KEY). The SDK insists on a value.
      apiKey: env.OLLAMA_API_KEY || "ollama",
      baseURL: env.OLLAMA_BASE_URL.replace(/\/+$/, "").replace(/\/v1$/, ""),
      maxRetries: 0,
      timeout: REQUEST_TIMEOUT_MS,
      defaultHeaders: { "User-Agent": "async-agent", ...access, ...(env.OLLAMA_API_KEY ? {} : { Authorization: null }) },
    });
  }

  async complete(req: CompleteRequest): Promise<Completion> {
    const estimate = estimateTokens(req.messages, req.tools);
    const body = {
      model: this.model,
      messages: toOllamaMessages(req.messages),
      // Ollama has no tool_choice: the closing turn simply offers no tools.
      ...(req.tools.length && req.toolChoice !== "none" ? { tools: req.tools } : {}),
      stream: false,
      options: { num_ctx: numCtxFor(estimate) },
    };
    const res = await withRetry(
      async () => {
        try {
          return await this.client.post<OllamaChatResponse>("/api/chat", { body, signal: req.signal });
        } catch (e) {
          throw classify(e, this.name, this.model);
        }
      },
      { signal: req.signal },
    );
    const text = res.message?.content?.trim() ? res.message.content : null;
    let toolCalls = (res.message?.tool_calls ?? []).map((t, i) => ({
      id: `call_${i}_${crypto.randomUUID().slice(0, 8)}`,
      name: t.function.name,
      arguments: typeof t.function.arguments === "string" ? t.function.arguments : JSON.stringify(t.function.arguments ?? {}),
    }));
    let leaked = false;
    if (req.toolChoice === "none") toolCalls = [];
    else if (!toolCalls.length && req.tools.length) {
      toolCalls = recoverLeakedToolCalls(
        text,
        req.tools.map((t) => t.function.name),
      );
      leaked = toolCalls.length > 0;
    }
    const prompt = res.prompt_eval_count ?? 0;
    // A prompt evaluated at far fewer tokens than we sent means Ollama cut it (context window too small).
    const truncated = prompt > 0 && estimate > 2048 && prompt < estimate * 0.5;
    return {
      text: leaked ? null : text,
      toolCalls,
      usage: { prompt, completion: res.eval_count ?? 0 },
      warning: truncated
        ? `ollama model ${this.model} read only ${prompt} of ~${estimate} prompt tokens: the prompt was truncated; use a model with a larger context window`
        : undefined,
    };
  }

  async checkToolCalling(signal?: AbortSignal): Promise<{ ok: boolean; reason?: string }> {
    let tags: { models?: { name: string; model?: string }[] };
    try {
      tags = await this.client.get("/api/tags", { signal });
    } catch (e) {
      return { ok: false, reason: `ollama tunnel unreachable: ${classify(e, this.name, this.model).message}` };
    }
    const names = (tags.models ?? []).flatMap((m) => [m.name, m.model ?? m.name]);
    const wanted = this.model.includes(":") ? [this.model] : [this.model, `${this.model}:latest`];
    if (!names.some((n) => wanted.includes(n)))
      return { ok: false, reason: `ollama model ${this.model} is not pulled on the server: run \`ollama pull ${this.model}\` or set OLLAMA_MODEL` };
    try {
      const show = await this.client.post<{ capabilities?: string[] }>("/api/show", { body: { model: this.model }, signal });
      // Servers older than 0.6.4 do not report capabilities: ask the model itself.
      if (!show.capabilities) return sampleToolCall(this, signal);
      if (!show.capabilities.includes("tools"))
        return {
          ok: false,
          reason: `ollama model ${this.model} does not support tool calling (capabilities: ${show.capabilities.join(", ")}): pick a model with the "tools" capability, e.g. qwen3`,
        };
      return { ok: true };
    } catch (e) {
      return { ok: false, reason: classify(e, this.name, this.model).message };
    }
  }
}
