/**
 * Fake LLM providers on one port: OpenAI-compatible chat completions (`/v1/...`, streamed or not),
 * OpenRouter (`/openrouter/api/v1/...` incl. `/models`), and Ollama's native API behind a fake
 * Cloudflare Tunnel + Access (`/ollama/api/{tags,show,chat}`, 403 without the Access headers).
 *
 * Scripting, safe for parallel test files: a test POSTs `/__scripts {key, script}` and puts
 * `[script:<key>]` in the goal's objective. The reply is chosen by turn number (assistant messages in
 * the request + 1), so a retry or a resumed run gets the same reply; faults (429/401/5xx, a dropped
 * connection, a response that never comes) and delays are injected per turn by attempt number. `/__stats/<key>` returns what the fake saw.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { sendJson, serve, type Fake } from "./http.ts";

export const FAKE_OPENAI_KEY = "sk-fake-openai";
export const FAKE_ACCESS = { id: "access-client.id", secret: "access-secret-value" };

export type FakeToolCall = { name: string; arguments: unknown };
export type FakeReply = {
  toolCalls?: FakeToolCall[];
  /** Raw argument strings (malformed JSON tests): index → string, replaces `arguments`. */
  rawArguments?: Record<number, string>;
  text?: string;
  /** Ollama: write the tool calls as JSON text in `content` (what local models do). */
  leak?: boolean;
  /** Fail the first attempts of this turn: one entry per attempt. */
  faults?: FakeFault[];
  /** OpenAI-compatible: answer 200 with `choices: []` (a provider's empty reply). */
  emptyChoices?: boolean;
  delayMs?: number;
  /** Only the first N attempts are delayed (default: all). */
  delayTimes?: number;
  /** Ollama: report this many prompt tokens (truncation tests). */
  promptEvalCount?: number;
  /** OpenAI-compatible: report this usage (cost tests); default: prompt = request chars / 4, completion 20. */
  usage?: { prompt: number; completion: number; cached?: number; reasoning?: number };
};
/**
 * One failed attempt: an HTTP error (with Retry-After), the connection dropped before any answer
 * (`drop`), or no answer at all until the client gives up (`hang`).
 */
export type FakeFault = { status: number; retryAfter?: number } | { drop: true } | { hang: true };
export type FakeScript = { turns: FakeReply[]; then?: FakeReply; closing?: FakeReply };

type Stats = {
  requests: number;
  maxRequestTokens: number;
  arrivals: number[];
  responded: number[];
  headers: Record<string, string>[];
  toolsOffered: string[][];
  /** The turn each request asked for (assistant messages in it + 1): a repeated or skipped turn shows here. */
  turns: number[];
  /** The messages of the first request: what the model was opened with (run input tests). */
  firstMessages?: ChatMessage[];
};

const scripts = new Map<string, FakeScript>();
const attempts = new Map<string, number>();
const stats = new Map<string, Stats>();
/** Latency for every chat reply (benchmarks), settable at /__config. */
let baseLatencyMs = 0;
/** Chat requests in flight now, and the most seen at once since the last /__config (benchmarks). */
let inFlight = 0;
let maxInFlight = 0;

type ChatMessage = { role: string; content?: unknown; tool_calls?: unknown[] };
type ChatBody = { model: string; messages: ChatMessage[]; tools?: { function: { name: string } }[]; tool_choice?: unknown; stream?: boolean };

function scriptKeyOf(body: ChatBody): string | null {
  for (const m of body.messages) {
    const k = typeof m.content === "string" ? m.content.match(/\[script:([\w.-]+)\]/) : null;
    if (k) return k[1];
  }
  return null;
}

// unref: a scripted delay must not keep the test process alive after the suite ends.
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());
/** Epoch milliseconds with sub-millisecond precision: the benches' per-step gaps are a few ms. */
const now = () => performance.timeOrigin + performance.now();

/** Decides the reply (or fault) for a chat request; shared by every protocol. */
async function plan(body: ChatBody, req: IncomingMessage): Promise<{ fault?: FakeFault; reply: FakeReply; turn: number; key: string | null }> {
  const key = scriptKeyOf(body);
  const turn = body.messages.filter((m) => m.role === "assistant").length + 1;
  // A closing turn: no tools offered, or tools declared with tool_choice "none".
  const noTools = !body.tools?.length || body.tool_choice === "none";
  if (!key) {
    // Unscripted: the validation probe gets its tool call (unless the model is text-only); anything else a short answer.
    const probe = body.tools?.find((t) => t.function.name === "report_status");
    if (probe && !/text-only/.test(body.model)) return { reply: { toolCalls: [{ name: "report_status", arguments: { status: "ok" } }] }, turn, key };
    return { reply: { text: "No script for this request: done." }, turn, key };
  }
  const st = stats.get(key) ?? { requests: 0, maxRequestTokens: 0, arrivals: [], responded: [], headers: [], toolsOffered: [], turns: [] };
  stats.set(key, st);
  st.requests++;
  st.turns.push(turn);
  st.firstMessages ??= body.messages;
  st.arrivals.push(now());
  onArrival.hook?.(key, st.requests);
  st.maxRequestTokens = Math.max(st.maxRequestTokens, Math.ceil((JSON.stringify(body.messages).length + JSON.stringify(body.tools ?? []).length) / 4));
  st.headers.push(Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)])));
  st.toolsOffered.push(noTools ? [] : (body.tools ?? []).map((t) => t.function.name));
  const script = scripts.get(key);
  if (!script) return { reply: { text: `unknown script ${key}` }, turn, key };
  const reply = noTools ? (script.closing ?? { text: "Partial report: the budget ran out." }) : (script.turns[turn - 1] ?? script.then ?? { text: "Done." });
  const n = (attempts.get(`${key}:${turn}:${noTools}`) ?? 0) + 1;
  attempts.set(`${key}:${turn}:${noTools}`, n);
  const delay = (reply.delayMs ?? 0) && (reply.delayTimes === undefined || n <= reply.delayTimes) ? reply.delayMs! : 0;
  if (delay + baseLatencyMs) await sleep(delay + baseLatencyMs);
  return { fault: reply.faults?.[n - 1], reply, turn, key };
}

const done = (key: string | null) => key && stats.get(key)?.responded.push(now());

function openAiToolCalls(reply: FakeReply, turn: number) {
  return (reply.toolCalls ?? []).map((c, i) => ({
    id: `call_${turn}_${i}`,
    type: "function",
    function: { name: c.name, arguments: reply.rawArguments?.[i] ?? JSON.stringify(c.arguments) },
  }));
}

/**
 * Providers echo a wrong key in derived forms (OpenAI: "Incorrect API key provided: sk-proj-****abcd"),
 * and proxies echo encodings of it: the 401 carries each form, so redaction is tested against them.
 */
function wrongKeyMessage(authorization = ""): string {
  const k = authorization.replace(/^Bearer /, "");
  const b64 = (s: string, url = false) => Buffer.from(s).toString(url ? "base64url" : "base64");
  return `Incorrect API key provided: ${k.slice(0, 8)}****${k.slice(-4)} (${k.slice(0, 3)}…${k.slice(-4)}, ${k.slice(0, 3)}...${k.slice(-6)}, ****${k.slice(-5)}); key id ${b64(k)} / ${b64(k, true)}; basic ${b64(`user:${k}`)}`;
}

async function openAiChat(req: IncomingMessage, raw: string, res: ServerResponse) {
  if (req.headers.authorization !== `Bearer ${FAKE_OPENAI_KEY}`)
    return sendJson(res, 401, { error: { message: wrongKeyMessage(req.headers.authorization), type: "invalid_request_error", code: "invalid_api_key" } });
  const body = JSON.parse(raw) as ChatBody;
  const { fault, reply, turn, key } = await plan(body, req);
  if (fault && "drop" in fault) return void req.socket.destroy();
  // The request stays open until the client gives up (or the fake closes its connections).
  if (fault && "hang" in fault) return;
  if (fault) {
    const headers: Record<string, string> = fault.retryAfter !== undefined ? { "retry-after": String(fault.retryAfter) } : {};
    return sendJson(res, fault.status, { error: { message: `scripted ${fault.status}`, type: "fake", code: String(fault.status) } }, headers);
  }
  const toolCalls = openAiToolCalls(reply, turn);
  const u = reply.usage ?? { prompt: Math.ceil(raw.length / 4), completion: 20 };
  const usage = {
    prompt_tokens: u.prompt,
    completion_tokens: u.completion,
    total_tokens: u.prompt + u.completion,
    ...(u.cached !== undefined ? { prompt_tokens_details: { cached_tokens: u.cached } } : {}),
    ...(u.reasoning !== undefined ? { completion_tokens_details: { reasoning_tokens: u.reasoning } } : {}),
  };
  if (reply.emptyChoices) {
    sendJson(res, 200, { id: `chatcmpl-${turn}`, object: "chat.completion", created: 0, model: body.model, choices: [], usage });
    return void done(key);
  }
  const finish = toolCalls.length ? "tool_calls" : "stop";
  const content = toolCalls.length ? (reply.text ?? null) : (reply.text ?? "Done.");
  if (!body.stream) {
    sendJson(res, 200, {
      id: `chatcmpl-${turn}`,
      object: "chat.completion",
      created: 0,
      model: body.model,
      choices: [{ index: 0, message: { role: "assistant", content, tool_calls: toolCalls.length ? toolCalls : undefined }, finish_reason: finish }],
      usage,
    });
    return void done(key);
  }
  res.writeHead(200, { "content-type": "text/event-stream" });
  const chunk = (delta: unknown, finish_reason: string | null, extra: object = {}) =>
    res.write(
      `data: ${JSON.stringify({ id: `chatcmpl-${turn}`, object: "chat.completion.chunk", created: 0, model: body.model, choices: [{ index: 0, delta, finish_reason }], ...extra })}\n\n`,
    );
  chunk({ role: "assistant", content: content ?? "" }, null);
  toolCalls.forEach((t, index) => chunk({ tool_calls: [{ index, ...t }] }, null));
  chunk({}, finish, { usage });
  res.end("data: [DONE]\n\n");
  done(key);
}

const OLLAMA_MODELS: Record<string, string[] | undefined> = { "qwen3:8b": ["completion", "tools"], "gemma:2b": ["completion"], "old-model:latest": undefined };

async function ollama(req: IncomingMessage, raw: string, res: ServerResponse, path: string) {
  if (req.headers["cf-access-client-id"] !== FAKE_ACCESS.id || req.headers["cf-access-client-secret"] !== FAKE_ACCESS.secret)
    return sendJson(res, 403, { error: "Forbidden: Cloudflare Access service token required" });
  if (path === "/api/tags") return sendJson(res, 200, { models: Object.keys(OLLAMA_MODELS).map((name) => ({ name, model: name })) });
  if (path === "/api/show") {
    const { model: asked } = JSON.parse(raw) as { model: string };
    const model = asked.includes(":") ? asked : `${asked}:latest`;
    if (!(model in OLLAMA_MODELS)) return sendJson(res, 404, { error: `model '${model}' not found` });
    const caps = OLLAMA_MODELS[model];
    return sendJson(res, 200, { details: { family: "fake" }, ...(caps ? { capabilities: caps } : {}) });
  }
  if (path !== "/api/chat") return sendJson(res, 404, { error: "not found" });
  const body = JSON.parse(raw) as ChatBody & { options?: { num_ctx?: number } };
  const { fault, reply, key } = await plan(body, req);
  if (key) stats.get(key)!.headers.at(-1)!["x-num-ctx"] = String(body.options?.num_ctx ?? "");
  if (fault && "drop" in fault) return void req.socket.destroy();
  if (fault && "hang" in fault) return;
  if (fault) return sendJson(res, fault.status, { error: `scripted ${fault.status}` });
  const calls = (reply.toolCalls ?? []).map((c) => ({ function: { name: c.name, arguments: c.arguments } }));
  const content = reply.leak
    ? JSON.stringify(calls.length === 1 ? { name: calls[0].function.name, arguments: calls[0].function.arguments } : calls.map((c) => c.function))
    : (reply.text ?? (calls.length ? "" : "Done."));
  sendJson(res, 200, {
    model: body.model,
    message: { role: "assistant", content, ...(calls.length && !reply.leak ? { tool_calls: calls } : {}) },
    done: true,
    done_reason: "stop",
    prompt_eval_count: reply.promptEvalCount ?? Math.ceil(raw.length / 4),
    eval_count: 20,
  });
  done(key);
}

/** Prices as OpenRouter lists them: USD per token, as decimal strings. */
const OPENROUTER_MODELS = [
  {
    id: "openai/gpt-4.1-mini",
    supported_parameters: ["tools", "tool_choice", "temperature"],
    pricing: { prompt: "0.0000004", completion: "0.0000016", input_cache_read: "0.0000001" },
  },
  { id: "acme/pricey-model", supported_parameters: ["tools"], pricing: { prompt: "0.000003", completion: "0.000015" } },
  { id: "acme/unpriced-model", supported_parameters: ["tools"] },
  { id: "acme/text-only-model", supported_parameters: ["temperature"] },
];

/** Benchmarks in this process may watch requests arrive (bench:agent reads the Worker's CPU at two of them). */
export const onArrival: { hook: ((key: string, n: number) => void) | null } = { hook: null };

export async function startLlm(): Promise<Fake> {
  return serve(async (req, raw, res) => {
    const url = new URL(req.url ?? "/", "http://fake");
    const path = url.pathname;
    if (req.method === "POST" && path === "/__scripts") {
      const { key, script } = JSON.parse(raw) as { key: string; script: FakeScript };
      scripts.set(key, script);
      return sendJson(res, 200, { ok: true });
    }
    if (req.method === "POST" && path === "/__config") {
      baseLatencyMs = Number((JSON.parse(raw) as { latencyMs?: number }).latencyMs ?? 0);
      maxInFlight = inFlight;
      return sendJson(res, 200, { ok: true });
    }
    if (path === "/__load") return sendJson(res, 200, { inFlight, maxInFlight });
    if (path.endsWith("/chat/completions") || path === "/ollama/api/chat") {
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      res.on("close", () => inFlight--);
    }
    if (path.startsWith("/__stats/")) return sendJson(res, 200, stats.get(path.slice("/__stats/".length)) ?? null);
    if (path === "/v1/chat/completions") return openAiChat(req, raw, res);
    if (path === "/openrouter/api/v1/models") return sendJson(res, 200, { data: OPENROUTER_MODELS });
    if (path === "/openrouter/api/v1/chat/completions") return openAiChat(req, raw, res);
    if (path.startsWith("/ollama/")) return ollama(req, raw, res, path.slice("/ollama".length));
    sendJson(res, 404, { error: `fake llm: no route ${req.method} ${path}` });
  });
}
