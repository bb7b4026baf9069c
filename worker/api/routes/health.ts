/**
 * /health (liveness) and /health/ready (dependencies): the only routes without auth. Without the API
 * token, readiness says ok / not ok per check, with the provider and model (names, not secrets) but
 * only a generic reason: a provider's error text can carry fragments of a key that redaction misses.
 * With the token ("authenticated readiness") each check carries its detailed reason.
 */
import { Hono } from "hono";
import { pingDb } from "../../db/client";
import type { App } from "../router";
import { validateLlm } from "../../llm/validate";
import { VERSION } from "../../lib/version";
import { hasValidBearer } from "../auth";
import { iso } from "../../lib/iso";

type Check = { ok: boolean; detail?: string; [k: string]: unknown };

/** What a caller without the token reads instead of each failing check's detail. */
const GENERIC_DETAIL: Record<string, string> = {
  d1: "D1 check failed; send the API token (Authorization: Bearer) for the reason",
  llm: "LLM check failed; see POST /api/v1/llm/validate with the API token for the reason",
};

/** The LLM startup check (cached, see llm/validate.ts): provider, model, and why not when it fails. */
async function checkLlm(env: App["Bindings"]): Promise<Check> {
  const v = await validateLlm(env);
  return { ok: v.ok, provider: v.provider, model: v.model, ...(v.reason ? { detail: v.reason } : {}) };
}

async function checkD1(c: { var: App["Variables"] }): Promise<Check> {
  try {
    await pingDb(c.var.db);
    return { ok: true };
  } catch (e) {
    return { ok: false, detail: `D1 unreachable: ${e instanceof Error ? e.message : String(e)}` };
  }
}

export const health = new Hono<App>()
  .get("/", (c) => c.json({ ok: true, version: VERSION, time: iso(Date.now()) }))
  .get("/ready", async (c) => {
    const [d1, llm, authenticated] = await Promise.all([checkD1(c), checkLlm(c.env), hasValidBearer(c)]);
    const checks: Record<string, Check> = { d1, llm };
    if (!authenticated)
      for (const [name, { detail, ...check }] of Object.entries(checks))
        if (detail) checks[name] = check.ok ? check : { ...check, detail: GENERIC_DETAIL[name] };
    const ok = Object.values(checks).every((x) => x.ok);
    // The body depends on the Authorization header: no shared cache may hand the detailed one to others.
    c.header("Cache-Control", "no-store");
    c.header("Vary", "Authorization");
    return c.json({ ok, version: VERSION, checks }, ok ? 200 : 503);
  });
