/** /health (liveness) and /health/ready (dependencies): the only routes without auth. */
import { sql } from "drizzle-orm";
import { Hono } from "hono";
import type { App } from "../../context";
import { validateLlm } from "../../llm/validate";
import { VERSION } from "../../version";

type Check = { ok: boolean; detail?: string; [k: string]: unknown };

/** The LLM startup check (cached, see llm/validate.ts): provider, model, and why not when it fails. */
async function checkLlm(env: App["Bindings"]): Promise<Check> {
  const v = await validateLlm(env);
  return { ok: v.ok, provider: v.provider, model: v.model, ...(v.reason ? { detail: v.reason } : {}) };
}

async function checkD1(c: { var: App["Variables"] }): Promise<Check> {
  try {
    await c.var.db.run(sql`select 1`);
    return { ok: true };
  } catch (e) {
    return { ok: false, detail: `D1 unreachable: ${e instanceof Error ? e.message : String(e)}` };
  }
}

export const health = new Hono<App>()
  .get("/", (c) => c.json({ ok: true, version: VERSION, time: new Date().toISOString() }))
  .get("/ready", async (c) => {
    const [d1, llm] = await Promise.all([checkD1(c), checkLlm(c.env)]);
    const checks: Record<string, Check> = { d1, llm };
    const ok = Object.values(checks).every((x) => x.ok);
    return c.json({ ok, version: VERSION, checks }, ok ? 200 : 503);
  });
