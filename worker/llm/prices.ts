/**
 * What a model call costs, from the best source per provider: OpenRouter's `GET /models` (its `pricing`,
 * cached per isolate for a day), OpenAI's list prices in the table below, and Ollama at 0 (it runs on your
 * hardware). `MODEL_PRICES` overrides or extends any of them. A model without a known price costs `null`,
 * never a guess. Prices are USD per million tokens; costs are integer nano-USD so that sums are exact.
 */
import type { Env } from "../lib/env";
import type { LlmProvider, Usage } from "./types";

export type Price = { prompt: number; completion: number; cached?: number };

/** The date the built-in OpenAI table was taken from openai.com/api/pricing (standard tier). */
export const OPENAI_PRICES_DATE = "2025-08-07";
/** [prompt, completion, cached prompt] USD per million tokens; a dated snapshot (gpt-4o-2024-08-06) uses its family's row. */
const OPENAI: Record<string, number[]> = {
  "gpt-5": [1.25, 10, 0.125],
  "gpt-5-mini": [0.25, 2, 0.025],
  "gpt-5-nano": [0.05, 0.4, 0.005],
  "gpt-4.1": [2, 8, 0.5],
  "gpt-4.1-mini": [0.4, 1.6, 0.1],
  "gpt-4.1-nano": [0.1, 0.4, 0.025],
  "gpt-4o": [2.5, 10, 1.25],
  "gpt-4o-mini": [0.15, 0.6, 0.075],
  o1: [15, 60, 7.5],
  o3: [2, 8, 0.5],
  "o3-mini": [1.1, 4.4, 0.55],
  "o4-mini": [1.1, 4.4, 0.275],
};

const DAY_MS = 86_400_000;
/** OpenRouter's prices per base URL: every model's, from one /models call a day. */
const listed = new Map<string, { at: number; prices: Map<string, Price> }>();

/** `MODEL_PRICES` parsed and checked; throws naming the variable when it is not `{"<model>": {prompt, completion, cached?}}`. */
export function modelPrices(env: Env): Record<string, Price> {
  if (!env.MODEL_PRICES?.trim()) return {};
  let v: unknown;
  try {
    v = JSON.parse(env.MODEL_PRICES);
  } catch {
    throw new Error("MODEL_PRICES is not valid JSON");
  }
  const ok = (x: unknown) => typeof x === "number" && x >= 0;
  for (const [m, p] of Object.entries(v && typeof v === "object" ? v : { "": v }) as [string, Price][])
    if (!p || !ok(p.prompt) || !ok(p.completion) || (p.cached !== undefined && !ok(p.cached)))
      throw new Error(`MODEL_PRICES["${m}"]: expected {"prompt": number, "completion": number, "cached"?: number} in USD per million tokens`);
  return v as Record<string, Price>;
}

/** The price of `llm`'s model, or null when unknown (see the file comment). */
export async function priceOf(env: Env, llm: Pick<LlmProvider, "name" | "model" | "listModels">, now = Date.now()): Promise<Price | null> {
  const own = modelPrices(env)[llm.model];
  if (own) return own;
  if (llm.name === "ollama") return { prompt: 0, completion: 0 };
  if (llm.name === "openai") {
    const row = OPENAI[llm.model] ?? OPENAI[llm.model.replace(/-\d{4}-\d{2}-\d{2}$/, "")];
    return row ? { prompt: row[0], completion: row[1], cached: row[2] } : null;
  }
  const key = `${llm.name}|${env.OPENROUTER_BASE_URL}`;
  let hit = listed.get(key);
  if (!hit || now - hit.at > DAY_MS) {
    // Per token, as decimal strings: "0.0000004" is $0.40 per million.
    const perM = (s: unknown) => (s === undefined || s === null || s === "" || Number.isNaN(Number(s)) ? undefined : Math.round(Number(s) * 1e12) / 1e6);
    // Fetched by each caller that finds no settled list (a pending fetch is never shared: workerd cancels a
    // request's I/O when its request ends, which would leave the other waiters hanging); a failure is not kept.
    const prices = new Map<string, Price>();
    for (const m of (await llm.listModels?.(AbortSignal.timeout(30_000))) ?? []) {
      const prompt = perM(m.pricing?.prompt);
      const completion = perM(m.pricing?.completion);
      if (prompt !== undefined && completion !== undefined) prices.set(m.id, { prompt, completion, cached: perM(m.pricing?.input_cache_read) });
    }
    hit = { at: now, prices };
    listed.set(key, hit);
  }
  return hit.prices.get(llm.model) ?? null;
}

/** Nano-USD of one call: uncached prompt, cached prompt (at the cached price when there is one) and completion. */
export function costNanos(p: Price | null, u: Usage): number | null {
  if (!p) return null;
  const cached = Math.min(u.cached ?? 0, u.prompt);
  return Math.round(((u.prompt - cached) * p.prompt + cached * (p.cached ?? p.prompt) + u.completion * p.completion) * 1000);
}
