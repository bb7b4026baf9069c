import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { app } from "../../worker/api/app";
import { dbFor } from "../../worker/db/client";
import { getRun, insertOutput, insertRun, listOutputs } from "../../worker/db/runs";
import { runs } from "../../worker/db/schema";
import { notifyRunEnded, runWebhookId } from "../../worker/notify/run-ended";
import { TEST_API_TOKEN, TEST_BRAVE_KEY, TEST_RESEND_KEY, TEST_TAVILY_KEY, TEST_WEBHOOK_SECRET } from "../bindings";
import { api, call, createGoal } from "./api";

const db = dbFor(env.DB);
const hook = (key: string) => `${env.TEST_WEBHOOK_RECEIVER_URL}/hooks/${key}`;
const attempts = async (key: string) =>
  ((await (await fetch(hook(key))).json()) as { attempts: { webhookId: string; verified: boolean; status: number; body: any }[] }).attempts;

describe("GET /api/v1/tools", () => {
  it("lists every tool with its JSON schema and whether it is configured", async () => {
    const res = await api.get("/tools");
    expect(res.status).toBe(200);
    const names = res.body.items.map((t: { name: string }) => t.name);
    expect(names).toEqual([
      "web_search",
      "fetch_page",
      "write_file",
      "read_file",
      "list_files",
      "send_webhook",
      "send_email",
      "remember",
      "recall",
      "update_plan",
      "ask_user",
      "finish",
    ]);
    const fetchPage = res.body.items.find((t: { name: string }) => t.name === "fetch_page");
    expect(fetchPage.inputSchema).toMatchObject({ type: "object", properties: { url: { type: "string" }, offset: { type: "integer" } }, required: ["url"] });
    expect(res.body.items.every((t: { configured: boolean }) => t.configured)).toBe(true);
    const text = JSON.stringify(res.body);
    for (const secret of [TEST_BRAVE_KEY, TEST_TAVILY_KEY, TEST_RESEND_KEY, TEST_WEBHOOK_SECRET, TEST_API_TOKEN]) expect(text).not.toContain(secret);
  });

  type Status = { name: string; configured: boolean; state: string; reason?: string };
  /** GET /tools on a Worker whose bindings differ from the suite's by `vars`. */
  async function toolsWith(vars: Record<string, string>): Promise<Record<string, Status>> {
    const res = await app.fetch(
      new Request("http://worker/api/v1/tools", { headers: { authorization: `Bearer ${TEST_API_TOKEN}` } }),
      { ...env, ...vars },
      createExecutionContext(),
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as { items: Status[] };
    return Object.fromEntries(body.items.map((t) => [t.name, t]));
  }

  it("says why a tool is not configured, naming the variable", async () => {
    const tools = await toolsWith({ SEARCH_PROVIDER: "", WEBHOOK_SECRET: "" });
    expect(tools.web_search).toMatchObject({ configured: false, state: "not_configured", reason: "set SEARCH_PROVIDER to searxng, brave or tavily" });
    expect(tools.send_webhook).toMatchObject({ configured: false, state: "not_configured", reason: expect.stringMatching(/^set WEBHOOK_SECRET/) });
    expect(tools.fetch_page).toMatchObject({ configured: true, state: "ready" });
    expect(tools.fetch_page).not.toHaveProperty("reason");
  });

  it("reports ready search when its endpoint answers, limited naming SEARXNG_URL when nobody listens there", async () => {
    const up = await toolsWith({});
    expect(up.web_search).toMatchObject({ state: "ready", configured: true });
    expect(up.send_webhook).toMatchObject({ state: "ready" });
    expect((await toolsWith({ SEARCH_PROVIDER: "brave" })).web_search).toMatchObject({ state: "ready" });

    const down = await toolsWith({ SEARXNG_URL: "http://127.0.0.1:1/" });
    expect(down.web_search).toMatchObject({
      state: "limited",
      configured: true,
      reason: expect.stringMatching(/^SEARXNG_URL http:\/\/127\.0\.0\.1:1\/ did not answer: \w/),
    });
    expect(down.web_search.reason).not.toContain("fetching");
    // The private-network guard applies to the probe too, and the reason says so.
    const guarded = await toolsWith({ ALLOW_PRIVATE_NETWORK: "false", SEARXNG_URL: `${env.SEARXNG_URL}/guarded` });
    expect(guarded.web_search).toMatchObject({
      state: "limited",
      reason: expect.stringMatching(/^SEARXNG_URL \S+: refused 127\.0\.0\.1: .*private networks.*; ALLOW_PRIVATE_NETWORK=true allows it/),
    });
    expect((await toolsWith({ SEARCH_PROVIDER: "tavily", TAVILY_API_KEY: "" })).web_search).toMatchObject({
      state: "not_configured",
      reason: "set TAVILY_API_KEY (SEARCH_PROVIDER=tavily)",
    });
  });

  it("reports email limited without a provider (recorded, not sent) or default recipients, ready with one", async () => {
    const noProvider = await toolsWith({ EMAIL_PROVIDER: "" });
    expect(noProvider.send_email).toMatchObject({
      state: "limited",
      configured: true,
      reason: expect.stringMatching(/^emails are recorded, not sent: set EMAIL_PROVIDER/),
    });
    expect((await toolsWith({ EMAIL_PROVIDER: "resend" })).send_email).toEqual(expect.objectContaining({ state: "ready" }));
    expect((await toolsWith({ EMAIL_PROVIDER: "resend" })).send_email).not.toHaveProperty("reason");
    expect((await toolsWith({ EMAIL_PROVIDER: "resend", EMAIL_ALLOWED_RECIPIENTS: "" })).send_email).toMatchObject({
      state: "limited",
      reason: "EMAIL_ALLOWED_RECIPIENTS is empty: only goals with params.emailRecipients can email",
    });
    expect((await toolsWith({ EMAIL_PROVIDER: "resend", RESEND_API_KEY: "" })).send_email).toMatchObject({
      state: "not_configured",
      reason: "set RESEND_API_KEY (EMAIL_PROVIDER=resend)",
    });
  });

  it("requires the bearer token, and the tools and files routes are in the OpenAPI document", async () => {
    expect((await api.get("/tools", { token: null })).status).toBe(401);
    const doc = await api.get("/openapi.json");
    expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(["/tools", "/goals/{id}/files", "/goals/{id}/files/{path}"]));
  });
});

describe("goal files API", () => {
  async function goalWithFiles() {
    const goal = await createGoal();
    const put = (path: string, body: string, contentType: string) => env.ARTIFACTS.put(`goals/${goal.id}/${path}`, body, { httpMetadata: { contentType } });
    await put("reports/2026-11-25.md", "# Weekly AI news\n", "text/markdown; charset=utf-8");
    await put("reports/2026-11-18.md", "# Older\n", "text/markdown; charset=utf-8");
    await put("data/seen.json", '["a"]', "application/json; charset=utf-8");
    await put("page.html", "<script>alert(1)</script>", "text/html; charset=utf-8");
    return goal;
  }

  it("lists a goal's files with size and content type, filtered by prefix", async () => {
    const goal = await goalWithFiles();
    const res = await api.get(`/goals/${goal.id}/files`);
    expect(res.status).toBe(200);
    expect(res.body.items.map((f: { path: string }) => f.path)).toEqual(["data/seen.json", "page.html", "reports/2026-11-18.md", "reports/2026-11-25.md"]);
    expect(res.body.items[0]).toMatchObject({ path: "data/seen.json", size: 5, contentType: "application/json; charset=utf-8" });
    expect(res.body.items[0].uploadedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    const reports = await api.get(`/goals/${goal.id}/files?prefix=reports/`);
    expect(reports.body.items.map((f: { path: string }) => f.path)).toEqual(["reports/2026-11-18.md", "reports/2026-11-25.md"]);
    const paged = await api.get(`/goals/${goal.id}/files?limit=2`);
    expect(paged.body.items).toHaveLength(2);
    expect(paged.body.nextCursor).toEqual(expect.any(String));
  });

  it("downloads a file with its content type, sandboxed", async () => {
    const goal = await goalWithFiles();
    const md = await api.get(`/goals/${goal.id}/files/reports/2026-11-25.md`);
    expect(md.status).toBe(200);
    expect(md.body).toBe("# Weekly AI news\n");
    expect(md.headers.get("content-type")).toBe("text/markdown; charset=utf-8");
    const json = await api.get(`/goals/${goal.id}/files/data/seen.json`);
    expect(json.body).toEqual(["a"]);
    const html = await api.get(`/goals/${goal.id}/files/page.html`);
    expect(html.headers.get("content-security-policy")).toContain("sandbox");
    expect(html.headers.get("x-content-type-options")).toBe("nosniff");
  });

  it("refuses traversal, answers 404 for a missing file or goal, and keeps goals apart", async () => {
    const goal = await goalWithFiles();
    const other = await createGoal();
    // An encoded slash survives URL normalisation and reaches the handler, which decodes once and refuses.
    for (const bad of ["..%2F..%2Fx", "reports%2F..%2F..%2F..%2Fy", "a%5Cb", "a%00b"]) {
      const res = await api.get(`/goals/${goal.id}/files/${bad}`);
      expect(res.status, bad).toBe(400);
      expect(res.body.error.message).toMatch(/^invalid path/);
    }
    // "%2e%2e/" is resolved by the URL parser before routing: it never gets near another goal's files.
    expect((await api.get(`/goals/${other.id}/files/%2e%2e/${goal.id}/files/page.html`)).status).toBe(404);
    expect((await api.get(`/goals/${goal.id}/files/reports/nope.md`)).status).toBe(404);
    expect((await api.get(`/goals/${other.id}/files/reports/2026-11-25.md`)).status).toBe(404);
    expect((await api.get(`/goals/${other.id}/files`)).body.items).toEqual([]);
    expect((await api.get("/goals/goal_missing/files")).status).toBe(404);
    expect((await call("GET", `/api/v1/goals/${goal.id}/files/page.html`, { token: null })).status).toBe(401);
  });
});

describe("completion notification", () => {
  async function endedRun(webhookKey: string | null, status: "completed" | "failed" | "cancelled" = "completed") {
    const goal = await createGoal(webhookKey ? { webhookUrl: hook(webhookKey) } : {});
    const run = await insertRun(db, { goalId: goal.id, trigger: "manual", stepBudget: 5, status: "running" });
    await insertOutput(db, { runId: run.id, kind: "file", path: "reports/week.md", payload: { size: 10 } });
    const failed = status === "failed";
    await db
      .update(runs)
      .set({ status, endedAt: Date.now(), summary: failed ? null : "Three stories found.", error: failed ? "budget exhausted" : null })
      .where(eq(runs.id, run.id));
    return { goal, runId: run.id };
  }

  it("POSTs one signed run.completed event with the run, summary and outputs, and records it once", async () => {
    const { goal, runId } = await endedRun("notify-ok");
    await Promise.all([notifyRunEnded(env, runId), notifyRunEnded(env, runId), notifyRunEnded(env, runId)]);
    await notifyRunEnded(env, runId);
    const seen = await attempts("notify-ok");
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ webhookId: runWebhookId(runId), verified: true, status: 204 });
    expect(seen[0].body).toMatchObject({
      type: "run.completed",
      data: {
        goal: { id: goal.id, objective: goal.objective },
        run: { id: runId, status: "completed" },
        status: "completed",
        summary: "Three stories found.",
        error: null,
        outputs: [{ kind: "file", path: "reports/week.md" }],
      },
    });
    const webhooks = (await listOutputs(db, runId)).filter((o) => o.kind === "webhook");
    expect(webhooks).toHaveLength(1);
    expect(webhooks[0].payload).toMatchObject({ type: "run.completed", delivered: true, attempts: 1, webhookId: runWebhookId(runId) });
    expect((await getRun(db, runId))!.notifiedAt).toBeGreaterThan(0);
  });

  it("retries a failing receiver with the same webhook-id, and sends run.failed with the error", async () => {
    const { runId } = await endedRun("flaky-notify", "failed");
    await notifyRunEnded(env, runId);
    const seen = await attempts("flaky-notify");
    expect(seen.map((a) => a.status)).toEqual([503, 503, 204]);
    expect(seen.every((a) => a.webhookId === runWebhookId(runId) && a.verified)).toBe(true);
    expect(seen[2].body).toMatchObject({ type: "run.failed", data: { status: "failed", error: "budget exhausted" } });
    expect((await listOutputs(db, runId)).filter((o) => o.kind === "webhook")[0].payload).toMatchObject({ delivered: true, attempts: 3 });
  });

  it("records a delivery it gave up on, and does not try again", async () => {
    const { runId } = await endedRun("gone-notify", "cancelled");
    await notifyRunEnded(env, runId);
    await notifyRunEnded(env, runId);
    expect(await attempts("gone-notify")).toHaveLength(1);
    const [out] = (await listOutputs(db, runId)).filter((o) => o.kind === "webhook");
    expect(out.payload).toMatchObject({ type: "run.cancelled", delivered: false, status: 410, error: "receiver answered 410" });
  });

  it("takes over a stale claim (a crash mid-delivery) but not a live one", async () => {
    const live = await endedRun("claim-live");
    await db.update(runs).set({ notifyClaimedAt: Date.now() }).where(eq(runs.id, live.runId));
    await notifyRunEnded(env, live.runId);
    expect(await attempts("claim-live")).toHaveLength(0);
    const stale = await endedRun("claim-stale");
    await db
      .update(runs)
      .set({ notifyClaimedAt: Date.now() - 10 * 60_000 })
      .where(eq(runs.id, stale.runId));
    await notifyRunEnded(env, stale.runId);
    expect((await attempts("claim-stale")).map((a) => a.webhookId)).toEqual([runWebhookId(stale.runId)]);
  });

  it("only marks the run when the goal has no webhook, and ignores runs still going", async () => {
    const { runId } = await endedRun(null);
    await notifyRunEnded(env, runId);
    expect((await getRun(db, runId))!.notifiedAt).toBeGreaterThan(0);
    expect((await listOutputs(db, runId)).filter((o) => o.kind === "webhook")).toEqual([]);
    const goal = await createGoal({ webhookUrl: hook("still-running") });
    const running = await insertRun(db, { goalId: goal.id, trigger: "manual", stepBudget: 5, status: "running" });
    await notifyRunEnded(env, running.id);
    expect(await attempts("still-running")).toHaveLength(0);
    expect((await getRun(db, running.id))!.notifiedAt).toBeNull();
  });
});
