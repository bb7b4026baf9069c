/**
 * The startup check: can the configured provider+model do tool calling? Results are cached per
 * isolate with a TTL, so /health/ready, /llm/validate and every run start cost one probe per
 * few minutes, not one per request. Failures are cached for less time so a fix shows up quickly.
 */
import type { Env } from "../lib/env";
import type { GoalRow } from "../db/schema";
import { redactSecrets } from "../lib/redact";
import { configFor, providerFor } from "./provider";
import type { ProviderConfig, ProviderName } from "./types";
import { PROVIDER_ENV } from "../domain/vocabulary";

export type Validation = { provider: ProviderName | string; model: string; ok: boolean; reason?: string };

const OK_TTL_MS = 5 * 60_000;
const FAIL_TTL_MS = 30_000;
const PROBE_TIMEOUT_MS = 30_000;
/** `value` is set once the probe settles; until then callers share `result`. */
const cache = new Map<string, { at: number; result: Promise<Validation>; value?: Validation }>();

/** Drops cached results (tests, and the validate route's `fresh` option). */
export const clearValidationCache = () => cache.clear();

function baseUrlOf(env: Env, p: ProviderName) {
  return env[PROVIDER_ENV[p].baseUrl] ?? "";
}

export async function validateLlm(env: Env, goal?: Pick<GoalRow, "params"> | null, override?: Partial<ProviderConfig>, now = Date.now()): Promise<Validation> {
  let cfg: ProviderConfig;
  try {
    cfg = configFor(env, goal, override);
  } catch (e) {
    return { provider: override?.provider ?? goal?.params.provider ?? env.LLM_PROVIDER, model: override?.model ?? "", ok: false, reason: (e as Error).message };
  }
  const key = `${cfg.provider}|${cfg.model}|${baseUrlOf(env, cfg.provider)}`;
  const hit = cache.get(key);
  if (hit) {
    // A probe still in flight belongs to the request that started it, and workerd cancels a request's
    // I/O when that request ends: wait for it no longer than a probe may take, then probe anew.
    const r = hit.value ?? (await Promise.race([hit.result, new Promise<null>((ok) => setTimeout(() => ok(null), PROBE_TIMEOUT_MS + 1_000))]));
    if (r && now - hit.at < (r.ok ? OK_TTL_MS : FAIL_TTL_MS)) return r;
  }
  const entry: { at: number; result: Promise<Validation>; value?: Validation } = {
    at: now,
    result: (async (): Promise<Validation> => {
      try {
        const check = await providerFor(env, null, cfg).checkToolCalling(AbortSignal.timeout(PROBE_TIMEOUT_MS));
        return { ...cfg, ...check, ...(check.reason ? { reason: redactSecrets(env, check.reason) } : {}) };
      } catch (e) {
        return { ...cfg, ok: false, reason: redactSecrets(env, e instanceof Error ? e.message : String(e)) };
      }
    })(),
  };
  void entry.result.then((v) => (entry.value = v));
  // Concurrent callers share one probe.
  cache.set(key, entry);
  return entry.result;
}
