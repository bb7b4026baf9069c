/**
 * Retries for LLM calls: 429, 5xx, timeouts and network errors are retried with exponential backoff
 * and full jitter, honouring Retry-After, a bounded number of times. Anything `fatal` (401/403/404)
 * is thrown at once: retrying a bad key only delays the clear error.
 */
import { APIConnectionError, APIError } from "openai";
import { PROVIDER_ENV } from "../domain/vocabulary";
import { LlmError } from "./errors";
import type { ProviderName } from "./types";

/** Per-request timeout: a hung provider must not hold a run forever (the retry loop takes over). */
export const REQUEST_TIMEOUT_MS = 120_000;

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

/** What to check, per provider, when a request fails: the variables of PROVIDER_ENV, with hints. */
const FIX: Record<ProviderName, { key: string; model: string; url: string }> = {
  openai: { key: PROVIDER_ENV.openai.key, model: `${PROVIDER_ENV.openai.model} (or the goal's params.model)`, url: PROVIDER_ENV.openai.baseUrl },
  openrouter: {
    key: PROVIDER_ENV.openrouter.key,
    model: `${PROVIDER_ENV.openrouter.model} (or the goal's params.model)`,
    url: PROVIDER_ENV.openrouter.baseUrl,
  },
  ollama: {
    key: `${PROVIDER_ENV.ollama.key} / CF_ACCESS_CLIENT_ID / CF_ACCESS_CLIENT_SECRET`,
    model: `${PROVIDER_ENV.ollama.model} (or \`ollama pull\` the model)`,
    url: `${PROVIDER_ENV.ollama.baseUrl} (is the tunnel up?)`,
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
