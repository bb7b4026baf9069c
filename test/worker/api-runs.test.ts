import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { dbFor } from "../../worker/db/client";
import { fillPlaceholders } from "drizzle-orm";
import { goalListQuery } from "../../worker/db/goals";
import { insertMemory } from "../../worker/db/memories";
import { insertOutput, insertRun, runListQuery } from "../../worker/db/runs";
import { steps } from "../../worker/db/schema";
import { goalPrefix } from "../../worker/lib/artifacts";
import { api, createGoal } from "./api";

const db = dbFor(env.DB);

async function seedRun(goalId: string, status: "completed" | "running" | "pending" = "completed") {
  const run = await insertRun(db, { goalId, trigger: "manual", stepBudget: 5, status });
  await db.insert(steps).values([
    { runId: run.id, stepNo: 1, thought: "search first", toolName: "web_search", toolInput: { query: "ai news" }, observation: "1. ...", durationMs: 12 },
    { runId: run.id, stepNo: 2, thought: null, toolName: "finish", toolInput: { summary: "done" }, observation: "Run finished.", durationMs: 1 },
  ]);
  await insertOutput(db, { runId: run.id, kind: "summary", payload: { markdown: "done" } });
  return run;
}

const count = async (table: string, where: string, arg: string) =>
  (await env.DB.prepare(`SELECT count(*) AS n FROM ${table} WHERE ${where}`).bind(arg).first<{ n: number }>())!.n;

describe("runs API", () => {
  it("lists runs by goal and status, newest first, and pages them", async () => {
    const g = await createGoal();
    const a = await seedRun(g.id, "completed");
    const b = await seedRun(g.id, "running");
    const c = await seedRun(g.id, "completed");
    const all = await api.get(`/runs?goalId=${g.id}`);
    expect(all.body.items.map((r: { id: string }) => r.id)).toEqual([c.id, b.id, a.id]);
    const done = await api.get(`/runs?goalId=${g.id}&status=completed&limit=1`);
    expect(done.body.items.map((r: { id: string }) => r.id)).toEqual([c.id]);
    const next = await api.get(`/runs?goalId=${g.id}&status=completed&limit=1&cursor=${done.body.nextCursor}`);
    expect(next.body).toEqual({ items: [expect.objectContaining({ id: a.id })], nextCursor: null });
    expect((await api.get("/runs?status=exploded")).status).toBe(400);
  });

  it("filters runs by trigger (with goal and status), and names the field for an unknown trigger", async () => {
    const g = await createGoal();
    const manual = await seedRun(g.id, "completed");
    const hook = await insertRun(db, { goalId: g.id, trigger: "webhook", stepBudget: 5, status: "completed" });
    const ids = async (q: string) => (await api.get(`/runs?goalId=${g.id}&${q}`)).body.items.map((r: { id: string }) => r.id);
    expect(await ids("trigger=webhook")).toEqual([hook.id]);
    expect(await ids("trigger=manual&status=completed")).toEqual([manual.id]);
    expect(await ids("trigger=schedule")).toEqual([]);
    const bad = await api.get("/runs?trigger=cron");
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/^trigger: /);
  });

  it("shows a run, its steps in order and its outputs", async () => {
    const g = await createGoal();
    const run = await seedRun(g.id);
    const one = await api.get(`/runs/${run.id}`);
    expect(one.body).toMatchObject({ id: run.id, goalId: g.id, status: "completed", tokens: { prompt: 0, completion: 0, total: 0 } });
    expect(one.body.endedAt).not.toBeNull();
    const s = await api.get(`/runs/${run.id}/steps`);
    expect(s.body.items.map((x: { stepNo: number; toolName: string }) => [x.stepNo, x.toolName])).toEqual([
      [1, "web_search"],
      [2, "finish"],
    ]);
    expect(s.body.items[0].toolInput).toEqual({ query: "ai news" });
    const page = await api.get(`/runs/${run.id}/steps?limit=1`);
    expect(page.body.nextCursor).toBe("1");
    const rest = await api.get(`/runs/${run.id}/steps?limit=1&cursor=1`);
    expect(rest.body.items[0].stepNo).toBe(2);
    const o = await api.get(`/runs/${run.id}/outputs`);
    expect(o.body.items).toEqual([expect.objectContaining({ kind: "summary", payload: { markdown: "done" } })]);
    expect((await api.get("/runs/run_00000000000000000000000000")).status).toBe(404);
  });

  it("deletes a finished run with its steps and outputs, and refuses a running one", async () => {
    const g = await createGoal();
    const done = await seedRun(g.id, "completed");
    const busy = await seedRun(g.id, "running");
    expect((await api.del(`/runs/${done.id}`)).status).toBe(204);
    expect((await api.get(`/runs/${done.id}`)).status).toBe(404);
    expect(await count("steps", "run_id = ?", done.id)).toBe(0);
    expect(await count("outputs", "run_id = ?", done.id)).toBe(0);
    const refused = await api.del(`/runs/${busy.id}`);
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toMatch(/cancel it first/);
    expect(await count("steps", "run_id = ?", busy.id)).toBe(2);
  });

  it("deletes a goal with its runs, steps, outputs, memories and files", async () => {
    const g = await createGoal();
    const other = await createGoal();
    const run = await seedRun(g.id);
    const kept = await seedRun(other.id);
    await insertMemory(db, { goalId: g.id, content: "reported GPT-9 launch" });
    await env.ARTIFACTS.put(`${goalPrefix(g.id)}reports/week.md`, "# week");
    await env.ARTIFACTS.put(`${goalPrefix(other.id)}keep.md`, "keep");
    expect((await api.del(`/goals/${g.id}`)).status).toBe(204);
    expect((await api.get(`/goals/${g.id}`)).status).toBe(404);
    expect(await count("runs", "goal_id = ?", g.id)).toBe(0);
    expect(await count("steps", "run_id = ?", run.id)).toBe(0);
    expect(await count("outputs", "run_id = ?", run.id)).toBe(0);
    expect(await count("memories", "goal_id = ?", g.id)).toBe(0);
    expect((await env.ARTIFACTS.list({ prefix: goalPrefix(g.id) })).objects).toHaveLength(0);
    expect(await count("steps", "run_id = ?", kept.id)).toBe(2);
    expect(await env.ARTIFACTS.get(`${goalPrefix(other.id)}keep.md`)).not.toBeNull();
  });
});

describe("query plans", () => {
  async function plan(query: { toSQL(): { sql: string; params: unknown[] } }): Promise<string[]> {
    const { sql, params } = query.toSQL();
    const res = await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
      .bind(...params)
      .all<{ detail: string }>();
    return res.results.map((r) => r.detail);
  }
  /** A query with placeholders, as it is run: its SQL with their values. */
  const withValues = (query: { toSQL(): { sql: string; params: unknown[] } }, values: Record<string, unknown>) => ({
    toSQL: () => ({ ...query.toSQL(), params: fillPlaceholders(query.toSQL().params, values) }),
  });
  const fullScan = (details: string[]) => details.filter((d) => /^SCAN \w+$/.test(d) || /USE TEMP B-TREE/.test(d));

  it("every list query uses an index: no full scan, no sort", async () => {
    const queries = {
      goals: withValues(goalListQuery(db, { status: false, cursor: false }), { limit: 21 }),
      goalsAfter: withValues(goalListQuery(db, { status: false, cursor: true }), { cursor: "goal_z", limit: 21 }),
      goalsByStatus: withValues(goalListQuery(db, { status: true, cursor: false }), { status: "paused", limit: 21 }),
      goalsByStatusAfter: withValues(goalListQuery(db, { status: true, cursor: true }), { status: "active", cursor: "goal_z", limit: 21 }),
      runs: runListQuery(db, { limit: 20 }),
      runsByGoal: runListQuery(db, { goalId: "goal_x", limit: 20, cursor: "run_z" }),
      runsByStatus: runListQuery(db, { status: "running", limit: 20 }),
      runsByGoalAndStatus: runListQuery(db, { goalId: "goal_x", status: "completed", limit: 20 }),
      runsByGoalAndTrigger: runListQuery(db, { goalId: "goal_x", trigger: "webhook", limit: 20 }),
    };
    for (const [name, q] of Object.entries(queries)) {
      const details = await plan(q);
      expect(fullScan(details), `${name}: ${details.join(" | ")}`).toEqual([]);
      expect(details.join(" "), name).toMatch(/USING (COVERING )?INDEX|USING INTEGER PRIMARY KEY/);
    }
  });
});
