import { env, exports } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { app, routeTable } from "../../worker/api/app";
import { tokensMatch } from "../../worker/api/auth";
import { dbFor } from "../../worker/db/client";
import { insertRun } from "../../worker/db/runs";
import { clearValidationCache } from "../../worker/llm/validate";
import { TEST_API_TOKEN } from "../bindings";
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

  it("takes the token only when every character matches: one off, a prefix, a longer one, another case or a non-ASCII twin is refused", async () => {
    const token = env.API_TOKEN;
    const last = token.at(-1)!;
    const variants = [
      token.slice(0, -1) + (last === "x" ? "y" : "x"),
      token.slice(0, -1),
      `${token}x`,
      token.toUpperCase() === token ? token.toLowerCase() : token.toUpperCase(),
      token.slice(0, -1) + String.fromCharCode(last.charCodeAt(0) + 0x10000 / 2),
      "",
    ].filter((v) => v !== token);
    expect(variants.length).toBe(6);
    for (const variant of variants) expect(tokensMatch(variant, token), JSON.stringify(variant)).toBe(false);
    expect(tokensMatch(token, token)).toBe(true);
    expect((await call("GET", "/api/v1/goals", { token: token.slice(0, -1) + (last === "x" ? "y" : "x") })).status).toBe(401);
    expect((await call("GET", "/api/v1/goals", { token })).status).toBe(200);
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

  it("gives /health/ready's failing reason only with the token, and redacts the key's masked and base64 forms from it", async () => {
    // The fake LLM answers a wrong key with a 401 that echoes it masked and base64-encoded (test/fakes/llm.ts).
    // A model name of its own keeps this check's cached result apart from the other tests' runs.
    const key = "sk-proj-?>~Leaky0123456789abcdWXYZ";
    const ready = async (token?: string) => {
      const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
      const res = await app.fetch(
        new Request("http://worker/health/ready", { headers }),
        { ...env, OPENAI_API_KEY: key, OPENAI_MODEL: "acme-leaky-1" },
        createExecutionContext(),
      );
      return { status: res.status, text: await res.text() };
    };
    clearValidationCache();
    try {
      for (const token of [undefined, "wrong-token"]) {
        const anon = await ready(token);
        expect(anon.status).toBe(503);
        expect(JSON.parse(anon.text).checks).toEqual({
          d1: { ok: true },
          llm: {
            ok: false,
            provider: "openai",
            model: "acme-leaky-1",
            detail: "LLM check failed; see POST /api/v1/llm/validate with the API token for the reason",
          },
        });
      }
      const authed = await ready(env.API_TOKEN);
      expect(authed.status).toBe(503);
      const llm = JSON.parse(authed.text).checks.llm;
      expect(llm).toMatchObject({ ok: false, provider: "openai", model: "acme-leaky-1" });
      expect(llm.detail).toMatch(
        /HTTP 401\): check OPENAI_API_KEY\. .*Incorrect API key provided: \[redacted\] \(\[redacted\], \[redacted\], \[redacted\]\); key id \[redacted\] \/ \[redacted\]; basic \w*\[redacted\]/,
      );
      const b64 = btoa(key);
      const encodings = [key, b64, b64.replace(/\+/g, "-").replace(/\//g, "_"), btoa(`user:${key}`).slice(8)];
      for (const e of encodings) for (let i = 0; i + 8 <= e.length; i++) expect(authed.text).not.toContain(e.slice(i, i + 8));
      expect(authed.text).not.toMatch(/WXYZ|Leaky/);
    } finally {
      clearValidationCache();
    }
  });
});

describe("request ids", () => {
  it("takes a cf-ray header only in Cloudflare's shape, never a client's unbounded text", async () => {
    const long = `${"x".repeat(5000)}<script>`;
    for (const ray of [long, "8e1c2f3a4b5c6d7e-FRA-extra", "not a ray"]) {
      const res = await call("GET", "/api/v1/nothing-here", { headers: { "cf-ray": ray } });
      expect(res.status).toBe(404);
      expect(res.body.error.requestId).toMatch(/^[0-9a-f-]{36}$/);
      expect(res.headers.get("x-request-id")).toBe(res.body.error.requestId);
    }
    for (const ray of ["8e1c2f3a4b5c6d7e-FRA", "8e1c2f3a4b5c6d7e"]) {
      const res = await call("GET", "/api/v1/nothing-here", { headers: { "cf-ray": ray } });
      expect(res.body.error.requestId).toBe(ray);
    }
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
    // One goal also shows this month's spending and its readiness (lists and writes do not).
    const month = expect.stringMatching(/^\d{4}-\d{2}$/);
    expect(again.body).toEqual({ ...g, usage: { month, costUsd: 0, tokens: 0, lastRun: null }, readiness: { ready: true, reason: null } });
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
    [
      "unknown time zone",
      { objective: "x", schedule: { cron: "0 16 * * 5", timezone: "Mars/Olympus" } },
      /^schedule\.timezone: unknown IANA time zone "Mars\/Olympus"/,
    ],
    ["non-http webhook", { objective: "x", webhookUrl: "ftp://example.com" }, /^webhookUrl: /],
    ["step budget 0", { objective: "x", params: { stepBudget: 0 } }, /^params\.stepBudget: /],
    ["bad overlap", { objective: "x", params: { overlap: "sometimes" } }, /^params\.overlap: /],
    ["unknown field", { objective: "x", colour: "red" }, /unknown field\(s\) colour/],
    ["cron that never fires (February 30th)", { objective: "x", schedule: { cron: "0 0 30 2 *" } }, /^schedule\.cron: the schedule never fires/],
    [
      "cron that never fires (April 31st)",
      { objective: "x", schedule: { cron: "0 0 31 4 *", timezone: "Europe/Berlin" } },
      /^schedule\.cron: the schedule never fires/,
    ],
    [
      "webhook URL with a control character",
      { objective: "x", webhookUrl: "https://example.com/ho\u0007ok" },
      /^webhookUrl: must not contain control characters or whitespace/,
    ],
    ["webhook URL with a C1 control character", { objective: "x", webhookUrl: "https://example.com/\u0085hook" }, /^webhookUrl: must not contain control/],
    ["webhook URL with a space inside", { objective: "x", webhookUrl: "https://example.com/my hook" }, /^webhookUrl: must not contain control/],
    ["webhook URL with a tab inside the host", { objective: "x", webhookUrl: "https://exa\tmple.com/hook" }, /^webhookUrl: must not contain control/],
    ["lone surrogate in the objective", { objective: "news \ud800" }, /^objective: contains a lone UTF-16 surrogate/],
    [
      "lone low surrogate in a nested field",
      { objective: "x", params: { constraints: "\udc00 only", model: "m\ud83d" } },
      /^params\.model: contains a lone UTF-16 surrogate.*; params\.constraints: contains a lone/,
    ],
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

  it("checks each part of a request a route declares: path, headers and body (typed or absent)", async () => {
    const before = await countGoals();
    const send = (path: string, init: RequestInit) =>
      exports.default.fetch(new Request(`http://worker/api/v1${path}`, { ...init, headers: { authorization: `Bearer ${TEST_API_TOKEN}`, ...init.headers } }));
    // Bytes without a Content-Type are not taken for JSON; no body at all reports the required fields.
    const untyped = await send("/goals", { method: "POST", body: new TextEncoder().encode('{"objective":"x"}') });
    expect(untyped.status).toBe(415);
    // Also when the idempotency middleware has read the body first.
    const keyed = await send("/goals", { method: "POST", body: new TextEncoder().encode('{"objective":"x"}'), headers: { "idempotency-key": "k-untyped" } });
    expect(keyed.status).toBe(415);
    const empty = await send("/goals", { method: "POST" });
    expect(empty.status).toBe(400);
    expect(((await empty.json()) as ApiResponse["body"]).error.message).toMatch(/^objective: /);
    expect(await countGoals()).toBe(before);
    const longId = await api.get(`/goals/${"g".repeat(101)}`);
    expect(longId.status).toBe(400);
    expect(longId.body.error.message).toMatch(/^id: /);
    const g = await createGoal();
    const run = await insertRun(dbFor(env.DB), { goalId: g.id, trigger: "manual", stepBudget: 5 });
    const replay = await send(`/runs/${run.id}/stream`, { headers: { "last-event-id": "9".repeat(21) } });
    expect(replay.status).toBe(400);
    expect(((await replay.json()) as ApiResponse["body"]).error.message).toMatch(/^last-event-id: /);
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

  it("stores a webhook URL normalised (as new URL(x).href) on create and update, and keeps emoji intact", async () => {
    const g = await createGoal({ objective: "📰 news digest", webhookUrl: "  HTTPS://Hooks.Example.COM:443/a/../in?q=ü  " });
    expect(g).toMatchObject({ objective: "📰 news digest", webhookUrl: "https://hooks.example.com/in?q=%C3%BC" });
    expect((await api.get(`/goals/${g.id}`)).body).toMatchObject({ objective: "📰 news digest", webhookUrl: "https://hooks.example.com/in?q=%C3%BC" });
    const patched = await api.patch(`/goals/${g.id}`, { webhookUrl: "http://EXAMPLE.com" });
    expect(patched.body.webhookUrl).toBe("http://example.com/");
    expect((await api.get(`/goals/${g.id}`)).body.webhookUrl).toBe("http://example.com/");
  });

  it("refuses a never-firing cron, a webhook URL with a control character and a lone surrogate on update, and keeps the goal", async () => {
    const g = await createGoal({ schedule: { cron: "0 9 * * *" }, webhookUrl: "https://example.com/hook" });
    const cases: [unknown, RegExp][] = [
      [{ schedule: { cron: "0 0 31 4 *" } }, /^schedule\.cron: the schedule never fires: no date matches "0 0 31 4 \*"$/],
      [{ webhookUrl: "https://example.com/\u0000x" }, /^webhookUrl: must not contain control characters or whitespace$/],
      [{ objective: "fine", params: { constraints: "\ud800" } }, /^params\.constraints: contains a lone UTF-16 surrogate/],
    ];
    for (const [patch, message] of cases) {
      const res = await api.patch(`/goals/${g.id}`, patch);
      expect(res.status, JSON.stringify(patch)).toBe(400);
      expect(res.body.error).toMatchObject({ code: "validation_error", message: expect.stringMatching(message) });
    }
    const { usage: _u, readiness: _r, ...unchanged } = (await api.get(`/goals/${g.id}`)).body;
    expect(unchanged).toEqual(g);
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
    expect(res.body).toMatchObject({
      status: "skipped",
      endReason: "skipped",
      error: expect.stringMatching(/^overlap: run run_\w+ of this goal was still active$/),
    });
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

  it("serves the OpenAPI 3.1 document (with auth), and the dashboard's page shell at / and /docs (no auth: its data comes from the API)", async () => {
    const doc = await api.get("/openapi.json");
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toBe("3.1.0");
    expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(["/goals", "/goals/{id}", "/runs/{id}/steps"]));
    expect(doc.body.components.schemas.CreateGoal.properties.schedule).toBeDefined();
    for (const path of ["/docs", "/"]) {
      const page = await call("GET", path, { token: null });
      expect(page.status, path).toBe(200);
      expect(page.headers.get("content-type")).toMatch(/text\/html/);
      expect(page.body).toContain('<div id="app">');
    }
  });

  it("previews a schedule: the next fire times in the zone and in UTC, in words; a bad cron or zone is a 400 naming it", async () => {
    const res = await api.get(`/schedules/preview?cron=${encodeURIComponent("0 16 * * 5")}&timezone=Europe/Berlin`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ cron: "0 16 * * 5", timezone: "Europe/Berlin", description: "Fridays at 16:00" });
    expect(res.body.fireTimes).toHaveLength(5);
    const times = res.body.fireTimes.map((f: { utc: string }) => Date.parse(f.utc));
    expect(times[0]).toBeGreaterThan(Date.now());
    for (let i = 1; i < 5; i++) expect(times[i] - times[i - 1]).toBeGreaterThanOrEqual(7 * 86_400_000 - 3_600_000);
    for (const f of res.body.fireTimes) expect(f.local).toMatch(/^Fri \d{4}-\d{2}-\d{2} 16:00 /);
    const three = await api.get(`/schedules/preview?cron=${encodeURIComponent("*/15 * * * *")}&count=3`);
    expect(three.body).toMatchObject({ timezone: "UTC", description: "Every 15 minutes" });
    expect(three.body.fireTimes).toHaveLength(3);
    for (const [q, field] of [
      ["cron=0+16+*+*", "cron"],
      ["cron=0+0+30+2+*", "cron"],
      ["cron=0+16+*+*+5&timezone=Mars/Olympus", "timezone"],
      ["cron=0+16+*+*+5&count=50", "count"],
      ["timezone=UTC", "cron"],
    ]) {
      const bad = await api.get(`/schedules/preview?${q}`);
      expect(bad.status, q).toBe(400);
      expect(bad.body.error.message, q).toMatch(new RegExp(`^${field}: `));
    }
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
