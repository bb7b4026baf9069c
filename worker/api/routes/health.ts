/** /health (liveness) and /health/ready (dependencies): the only routes without auth. */
import { sql } from "drizzle-orm";
import { Hono } from "hono";
import type { App } from "../../context";
import { VERSION } from "../../version";

type Check = { ok: boolean; detail?: string };

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
    const checks: Record<string, Check> = { d1: await checkD1(c) };
    const ok = Object.values(checks).every((x) => x.ok);
    return c.json({ ok, version: VERSION, checks }, ok ? 200 : 503);
  });
