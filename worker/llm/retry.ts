/**
 * Retries for LLM calls: 429, 5xx, timeouts and network errors are retried with exponential backoff
 * and full jitter, honouring Retry-After, a bounded number of times. Anything `fatal` (401/403/404)
 * is thrown at once: retrying a bad key only delays the clear error.
 */
import { APIConnectionError, APIError } from "openai";
import { LlmError, type ProviderName } from "./provider";

export type RetryOptions = { attempts?: number; baseMs?: number; maxMs?: number; signal?: AbortSignal };

/** A Retry-After header (seconds or an HTTP date) in ms, capped; undefined when absent or unreadable. */
export function retryAfterMs(headers: Headers | undefined, capMs = 60_000): number | undefined {
  const v = headers?.get("retry-after-ms") ?? undefined;
  if (v && Number.isFinite(Number(v))) return Math.min(Number(v), capMs);
  const ra = headers?.get("retry-after");
  if (!ra) return undefined;
  const secs = Number(ra);
  if (Number.isFinite(secs)) return Math.min(Math.max(0, secs * 1000), capMs);
  const at = Date.parse(ra);
  return Number.isFinite(at) ? Math.min(Math.max(0, at - Date.now()), capMs) : undefined;
}

const FIX: Record<ProviderName, { key: string; model: string; url: string }> = {
  openai: { key: "OPENAI_API_KEY", model: "OPENAI_MODEL (or the goal's params.model)", url: "OPENAI_BASE_URL" },
  openrouter: { key: "OPENROUTER_API_KEY", model: "OPENROUTER_MODEL (or the goal's params.model)", url: "OPENROUTER_BASE_URL" },
  ollama: {
    key: "OLLAMA_API_KEY / CF_ACCESS_CLIENT_ID / CF_ACCESS_CLIENT_SECRET",
    model: "OLLAMA_MODEL (or `ollama pull` the model)",
    url: "OLLAMA_BASE_URL (is the tunnel up?)",
  },
};

/** Turns an SDK or fetch error into an LlmError whose message names provider, model and the fix. */
export function classify(err: unknown, provider: ProviderName, model: string): LlmError {
  if (err instanceof LlmError) return err;
  const who = `${provider} model ${model}`;
  if (err instanceof APIError && typeof err.status === "number") {
    const s = err.status;
    const detail = err.message.slice(0, 300);
    if (s === 401 || s === 403) return new LlmError(`${who}: the provider refused the credentials (HTTP ${s}): check ${FIX[provider].key}. ${detail}`, true);
    if (s === 404) return new LlmError(`${who}: model or endpoint not found (HTTP 404): check ${FIX[provider].model} and the base URL. ${detail}`, true);
    if (s === 429 || s >= 500 || s === 408) return new LlmError(`${who}: HTTP ${s} ${detail}`, false, retryAfterMs(err.headers as Headers | undefined));
    return new LlmError(`${who}: request refused (HTTP ${s}): ${detail}`, true);
  }
  if (err instanceof APIConnectionError || err instanceof TypeError)
    return new LlmError(`${who}: cannot reach the provider (${(err as Error).message}): check ${FIX[provider].url} and the network`, false);
  return new LlmError(`${who}: ${err instanceof Error ? err.message : String(err)}`, false);
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => (clearTimeout(t), reject(signal.reason)), { once: true });
  });

/** Runs `fn`, retrying transient LlmErrors. The last error is rethrown with the attempt count. */
export async function withRetry<T>(fn: () => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const attempts = opts.attempts ?? 5;
  const base = opts.baseMs ?? 500;
  const max = opts.maxMs ?? 30_000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      const err = e instanceof LlmError ? e : new LlmError(e instanceof Error ? e.message : String(e), false);
      if (err.fatal || opts.signal?.aborted) throw err;
      if (attempt >= attempts) throw new LlmError(`${err.message} (gave up after ${attempts} attempts)`, false);
      // Full jitter spreads retries of many runs hitting one rate limit; Retry-After wins when given.
      const backoff = Math.random() * Math.min(max, base * 2 ** (attempt - 1));
      await sleep(err.retryAfterMs ?? backoff, opts.signal);
    }
  }
}
