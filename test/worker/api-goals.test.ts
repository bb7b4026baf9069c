import { env } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { app, routeTable } from "../../worker/api/app";
import { dbFor } from "../../worker/db/client";
import { insertRun } from "../../worker/db/runs";
import { api, type ApiResponse, call, createGoal } from "./api";

const countGoals = async () => (await env.DB.prepare("SELECT count(*) AS n FROM goals").first<{ n: number }>())!.n;

describe("auth", () => {
  const apiRoutes = routeTable().filter((r) => r.path.startsWith("/api/"));

  it("knows the routes it guards", () => {
    const paths = apiRoutes.map((r) => `${r.method} ${r.path}`);
    expect(paths).toEqual(expect.arrayContaining(["POST /api/v1/goals", "GET /api/v1/runs/:id/steps", "GET /api/v1/openapi.json"]));
  });

  it("refuses every /api route without a token or with a wrong one", async () => {
    for (const r of apiRoutes) {
      const path = r.path.replace(/:[^/]+/g, "x").replace(/\/\*$/, "/x");
      for (const token of [null, "wrong-token"]) {
        const res = await call(r.method, path, { token, body: r.method === "GET" ? undefined : {} });
        expect(res.status, `${r.method} ${path} token=${token}`).toBe(401);
        expect(res.body.error.code).toBe("unauthorized");
      }
    }
  });

  it("fails closed with 503 when API_TOKEN is not configured", async () => {
    const res = await app.fetch(
      new Request("http://worker/api/v1/goals", { headers: { authorization: "Bearer anything" } }),
      { ...env, API_TOKEN: "" },
      createExecutionContext(),
    );
    expect(res.status).toBe(503);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("not_configured");
    expect(body.error.message).toContain("wrangler secret put API_TOKEN");
  });

  it("leaves /health open", async () => {
    expect((await call("GET", "/health", { token: null })).status).toBe(200);
    const ready = await call("GET", "/health/ready", { token: null });
    expect(ready.body.checks.d1).toEqual({ ok: true });
  });
});

describe("POST /goals", () => {
  it("creates a scheduled goal and tells the next fire times in local time and UTC", async () => {
    const res = await api.post("/goals", {
      objective: "Collect the week's AI news",
      schedule: { cron: "0 16 * * 5", timezone: "Europe/Berlin" },
      webhookUrl: "https://example.com/hook",
      params: { stepBudget: 12, allowedTools: ["web_search", "fetch_page"], overlap: "queue" },
    });
    expect(res.status).toBe(201);
    const g = res.body;
    expect(g.id).toMatch(/^goal_[0-9a-z]{26}$/);
    expect(g).toMatchObject({
      status: "active",
      schedule: { cron: "0 16 * * 5", timezone: "Europe/Berlin" },
      webhookUrl: "https://example.com/hook",
      params: { stepBudget: 12, overlap: "queue" },
    });
    expect(g.nextFireTimes).toHaveLength(3);
    expect(g.nextFireTimes[0].utc).toBe(g.nextRunAt);
    for (const f of g.nextFireTimes) {
      expect(f.local).toMatch(/^Fri \d{4}-\d\d-\d\d 16:00 (CET|CEST|GMT\+1|GMT\+2)$/);
      expect(new Date(f.utc).getUTCDay()).toBe(5);
    }
    const again = await api.get(`/goals/${g.id}`);
    expect(again.body).toEqual(g);
  });

  it("defaults the timezone to UTC and leaves unscheduled goals without a next run", async () => {
    const utc = await createGoal({ schedule: { cron: "30 6 * * *" } });
    expect(utc.schedule.timezone).toBe("UTC");
    expect(utc.nextFireTimes[0].local).toMatch(/06:30 UTC$/);
    const manual = await createGoal();
    expect(manual).toMatchObject({ schedule: null, nextRunAt: null, nextFireTimes: [] });
  });

  const bad: [string, unknown, RegExp][] = [
    ["missing objective", {}, /^objective: /],
    ["empty objective", { objective: "  " }, /^objective: must not be empty/],
    ["cron with 6 fields", { objective: "x", schedule: { cron: "0 0 16 * * 5" } }, /^schedule\.cron: expected 5 fields/],
    ["cron out of range", { objective: "x", schedule: { cron: "61 * * * *" } }, /^schedule\.cron: .*minute/],
    ["unknown time zone", { objective: "x", schedule: { cron: "0 16 * * 5", timezone: "Mars/Olympus" } }, /^schedule\.timezone: unknown IANA time zone "Mars\/Olympus"/],
    ["non-http webhook", { objective: "x", webhookUrl: "ftp://example.com" }, /^webhookUrl: /],
    ["step budget 0", { objective: "x", params: { stepBudget: 0 } }, /^params\.stepBudget: /],
    ["bad overlap", { objective: "x", params: { overlap: "sometimes" } }, /^params\.overlap: /],
    ["unknown field", { objective: "x", colour: "red" }, /unknown field\(s\) colour/],
    ["not an object", ["x"], /^body: /],
  ];
  for (const [name, body, message] of bad) {
    it(`refuses ${name} with a 400 naming the field, and writes nothing`, async () => {
      const before = await countGoals();
      const res = await api.post("/goals", body);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe("validation_error");
      expect(res.body.error.message).toMatch(message);
      expect(res.body.error.details.issues.length).toBeGreaterThan(0);
      expect(await countGoals()).toBe(before);
    });
  }

  it("refuses malformed JSON, a wrong content type and an oversized body", async () => {
    const before = await countGoals();
    const malformed = await call("POST", "/api/v1/goals", { raw: '{"objective": ', headers: { "content-type": "application/json" } });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.message).toMatch(/json/i);
    const text = await call("POST", "/api/v1/goals", { raw: "objective=x", headers: { "content-type": "text/plain" } });
    expect(text.status).toBe(415);
    expect(text.body.error.code).toBe("unsupported_media_type");
    const huge = await api.post("/goals", { objective: "x".repeat(70 * 1024) });
    expect(huge.status).toBe(413);
    expect(huge.body.error.code).toBe("payload_too_large");
    expect(await countGoals()).toBe(before);
  });
});

describe("goal resources", () => {
  it("answers 404 for unknown ids and 405 for a wrong method", async () => {
    for (const id of ["goal_00000000000000000000000000", "nope"]) {
      const res = await api.get(`/goals/${id}`);
      expect(res.status).toBe(404);
      expect(res.body.error.message).toBe(`goal ${id} not found`);
    }
    const put = await call("PUT", "/api/v1/goals/goal_00000000000000000000000000", { body: {} });
    expect(put.status).toBe(405);
    expect(put.headers.get("allow")).toMatch(/GET/);
    const unknown = await api.get("/nothing-here");
    expect(unknown.status).toBe(404);
  });

  it("updates a goal: a new schedule recomputes the next run, null removes it, bad input changes nothing", async () => {
    const g = await createGoal({ schedule: { cron: "0 9 * * *", timezone: "UTC" } });
    const moved = await api.patch(`/goals/${g.id}`, { schedule: { cron: "0 18 * * *", timezone: "America/New_York" } });
    expect(moved.status).toBe(200);
    expect(moved.body.nextFireTimes[0].local).toMatch(/18:00 (EST|EDT)$/);
    expect(moved.body.updatedAt >= g.updatedAt).toBe(true);
    const bad = await api.patch(`/goals/${g.id}`, { objective: "changed", schedule: { cron: "bad" } });
    expect(bad.status).toBe(400);
    expect((await api.get(`/goals/${g.id}`)).body.objective).toBe(g.objective);
    const unscheduled = await api.patch(`/goals/${g.id}`, { schedule: null, params: { stepBudget: 3 } });
    expect(unscheduled.body).toMatchObject({ schedule: null, nextRunAt: null, params: { stepBudget: 3 } });
  });

  it("pauses (no next run) and resumes (next run from now)", async () => {
    const g = await createGoal({ schedule: { cron: "*/5 * * * *" } });
    const paused = await api.post(`/goals/${g.id}/pause`);
    expect(paused.body).toMatchObject({ status: "paused", nextRunAt: null });
    const resumed = await api.post(`/goals/${g.id}/resume`);
    expect(resumed.body.status).toBe("active");
    expect(new Date(resumed.body.nextRunAt).getTime()).toBeGreaterThan(Date.now());
    const archived = await api.patch(`/goals/${g.id}`, { status: "archived" });
    expect(archived.body).toMatchObject({ status: "archived", nextRunAt: null });
    expect((await api.post(`/goals/${g.id}/resume`)).status).toBe(409);
    expect((await api.post(`/goals/${g.id}/run`)).status).toBe(409);
  });

  it("runs a goal on demand: 202 with the pending manual run", async () => {
    const g = await createGoal({ params: { stepBudget: 7 } });
    const res = await api.post(`/goals/${g.id}/run`);
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ goalId: g.id, trigger: "manual", stepBudget: 7, scheduledFor: null });
    expect(res.body.id).toMatch(/^run_/);
    const listed = await api.get(`/runs?goalId=${g.id}`);
    expect(listed.body.items.map((r: { id: string }) => r.id)).toEqual([res.body.id]);
    expect((await api.post("/goals/goal_00000000000000000000000000/run")).status).toBe(404);
  });

  it("answers a run-now skipped by the overlap policy with the run exactly as stored", async () => {
    const g = await createGoal({});
    await insertRun(dbFor(env.DB), { goalId: g.id, trigger: "manual", stepBudget: 20, status: "running" });
    const res = await api.post(`/goals/${g.id}/run`);
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ status: "skipped", endReason: "skipped", error: expect.stringMatching(/^overlap: run run_\w+ of this goal was still active$/) });
    // Built from the insert's RETURNING, not read back: it must match what GET returns.
    expect((await api.get(`/runs/${res.body.id}`)).body).toEqual(res.body);
  });

  it("pages through goals newest first with no duplicates or gaps", async () => {
    const created: string[] = [];
    for (let i = 0; i < 23; i++) created.push((await createGoal({ objective: `page ${i}` })).id);
    await api.post(`/goals/${created[3]}/pause`);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: ApiResponse = await api.get(`/goals?limit=7${cursor ? `&cursor=${cursor}` : ""}`);
      expect(res.status).toBe(200);
      expect(res.body.items.length).toBeLessThanOrEqual(7);
      seen.push(...res.body.items.map((g: { id: string }) => g.id));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(new Set(seen).size).toBe(seen.length);
    const mine = seen.filter((id) => created.includes(id));
    expect(mine).toEqual([...created].reverse());
    const paused = await api.get("/goals?status=paused&limit=100");
    expect(paused.body.items.map((g: { id: string }) => g.id)).toContain(created[3]);
    expect(paused.body.items.every((g: { status: string }) => g.status === "paused")).toBe(true);
    for (const q of ["limit=0", "limit=101", "limit=abc", "status=sleeping"]) {
      const res = await api.get(`/goals?${q}`);
      expect(res.status, q).toBe(400);
      expect(res.body.error.message).toMatch(/^(limit|status): /);
    }
  });

  it("serves the OpenAPI 3.1 document (with auth) and a docs page", async () => {
    const doc = await api.get("/openapi.json");
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toBe("3.1.0");
    expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(["/goals", "/goals/{id}", "/runs/{id}/steps"]));
    expect(doc.body.components.schemas.CreateGoal.properties.schedule).toBeDefined();
    const page = await call("GET", "/docs", { token: null });
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/text\/html/);
    expect(page.body).toContain("/api/v1/goals/{id}/run");
  });

  it("answers a 500 without a stack or internals", async () => {
    const res = await app.fetch(
      new Request("http://worker/api/v1/goals", { headers: { authorization: `Bearer ${env.API_TOKEN}` } }),
      { ...env, DB: undefined as unknown as D1Database },
      createExecutionContext(),
    );
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(JSON.parse(text).error.code).toBe("internal");
    expect(text).not.toMatch(/TypeError|at \w+ \(|\.ts:\d+/);
    expect(text).not.toContain(env.API_TOKEN);
  });

  it("uses the drizzle client the API uses", () => {
    expect(typeof dbFor(env.DB).select).toBe("function");
  });
});
