/**
 * A person in the loop, as a user meets it: approvals of risky calls, questions (ask_user), expiry, one-click
 * links, cancel while waiting, a restart while waiting, and the visible plan (update_plan) — through the API,
 * the queue, the goal's agent and the fake LLM.
 */
import { abortAllDurableObjects, createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { getAgentByName } from "agents";
import { describe, expect, it, vi } from "vitest";
import { dbFor } from "../../worker/db/client";
import { insertRun } from "../../worker/db/runs";
import { consumeRuns } from "../../worker/queue/consumer";
import { openWait } from "../../worker/db/waits";
import { decisionToken } from "../../worker/net/decision-links";
import { notifyRunWaiting } from "../../worker/notify/run-waiting";
import { api, call, createGoal } from "./api";
import { llmStats, script, stepsOf, waitForRunEnd, refuseStepWrites } from "./agent-helpers";
import { tick } from "./scheduler-helpers";

const db = dbFor(env.DB);
const hook = (key: string) => `${env.TEST_WEBHOOK_RECEIVER_URL}/hooks/${key}`;
type Attempt = { webhookId: string; verified: boolean; body: any };
const attempts = async (key: string): Promise<Attempt[]> => ((await (await fetch(hook(key))).json()) as { attempts: Attempt[] }).attempts;
const finish = (summary: string) => ({ toolCalls: [{ name: "finish", arguments: { summary } }] });
let n = 0;

/** A goal scripted with `turns`, with a webhook receiver of its own, and a run started now. */
async function start(turns: unknown[], params: Record<string, unknown> = {}) {
  const hookKey = `hitl-${Date.now().toString(36)}-${++n}`;
  const { key, marker } = await script({ turns } as never, "hitl");
  const goal = await createGoal({ objective: `Post the weekly numbers ${marker}`, webhookUrl: hook(hookKey), params });
  const res = await api.post(`/goals/${goal.id}/run`);
  expect(res.status).toBe(202);
  return { key, hookKey, goal, runId: res.body.id as string };
}

async function waitingRun(runId: string) {
  return vi.waitFor(
    async () => {
      const r = await api.get(`/runs/${runId}`);
      if (r.body.status !== "waiting") throw new Error(`run is ${r.body.status}`);
      return r.body;
    },
    { timeout: 20_000, interval: 100 },
  );
}

const waitingEvent = async (hookKey: string) =>
  vi.waitFor(
    async () => {
      const e = (await attempts(hookKey)).find((a) => a.body?.type === "run.waiting");
      if (!e) throw new Error("no run.waiting webhook yet");
      return e;
    },
    { timeout: 10_000, interval: 100 },
  );

const postWebhook = (payload: Record<string, unknown>) => ({ toolCalls: [{ name: "send_webhook", arguments: { payload } }] });

describe("approvals", () => {
  it("holds a call that needs a yes while the turn's other calls run; one approval of three concurrent runs it once", async () => {
    const { runId, key, hookKey } = await start(
      [
        {
          text: "Noting, then posting.",
          toolCalls: [{ name: "remember", arguments: { content: "numbers are ready" } }, postWebhook({ total: 42 }).toolCalls[0]],
        },
        finish("Posted the numbers."),
      ],
      { requireApproval: ["send_webhook"] },
    );
    const waiting = await waitingRun(runId);
    expect(waiting.waitingFor).toMatchObject({ kind: "approval", stepNo: 2, tool: "send_webhook", input: { payload: { total: 42 } } });
    expect(Date.parse(waiting.waitingFor.expiresAt) - Date.parse(waiting.waitingFor.askedAt)).toBe(24 * 3600_000);
    // The call that needs no approval ran, and shows as the run's first step meanwhile; the held one did not run.
    expect((await stepsOf(runId)).map((s) => [s.stepNo, s.toolName])).toEqual([[1, "remember"]]);
    expect((await attempts(hookKey)).filter((a) => a.body?.data?.payload?.total === 42)).toHaveLength(0);
    // Waiting holds nothing: no fiber of the run is alive in the goal's agent.
    expect(await (await getAgentByName(env.GOAL_AGENT, waiting.goalId)).isLive(runId)).toBe(false);
    // The owner is told, with a signed run.waiting webhook carrying one-click links.
    const told = await waitingEvent(hookKey);
    expect(told.verified).toBe(true);
    expect(told.body.data).toMatchObject({ waitingFor: { kind: "approval", tool: "send_webhook" }, links: { approve: expect.stringMatching(/^\/decide\//) } });
    // Also listed as waiting.
    expect((await api.get(`/runs?status=waiting&goalId=${waiting.goalId}`)).body.items.map((r: any) => r.id)).toEqual([runId]);

    const answers = await Promise.all([1, 2, 3].map(() => api.post(`/runs/${runId}/approval`, { decision: "approve", note: "go ahead" })));
    expect(answers.map((a) => a.status).sort()).toEqual([202, 409, 409]);
    expect(answers.find((a) => a.status === 409)?.body.error.message).toMatch(/decided already \(approved\)|waits for nothing/);
    const ended = await waitForRunEnd(runId);
    expect(ended).toMatchObject({ status: "completed", endReason: "finished", summary: "Posted the numbers." });
    const steps = await stepsOf(runId);
    expect(steps.map((s) => [s.stepNo, s.toolName, s.error])).toEqual([
      [1, "remember", null],
      [2, "send_webhook", null],
      [3, "finish", null],
    ]);
    expect(steps[0].thought).toBe("Noting, then posting.");
    // Exactly one side effect, and the model was never asked the waiting turn again.
    await vi.waitFor(async () => expect((await attempts(hookKey)).some((a) => a.body?.type === "run.completed")).toBe(true), { timeout: 10_000 });
    expect((await attempts(hookKey)).filter((a) => a.body?.data?.payload?.total === 42)).toHaveLength(1);
    expect((await llmStats(key)).requests).toBe(2);
    // A decision for a run that waits for nothing any more is a 409.
    expect((await api.post(`/runs/${runId}/approval`, { decision: "deny" })).status).toBe(409);
  });

  it("tells the model of a denial with the note, runs nothing, and goes on", async () => {
    const { runId, hookKey } = await start([postWebhook({ total: 7 }), { text: "Understood, not posting." }], { requireApproval: ["send_webhook"] });
    await waitingRun(runId);
    const res = await api.post(`/runs/${runId}/approval`, { decision: "deny", note: "not before Monday" });
    expect(res.status).toBe(202);
    expect(res.body.status).toMatch(/pending|running/);
    expect(await waitForRunEnd(runId)).toMatchObject({ status: "completed", summary: "Understood, not posting." });
    const [held] = await stepsOf(runId);
    expect(held).toMatchObject({ stepNo: 1, toolName: "send_webhook", observation: "denied by the user: not before Monday (the call was not run)" });
    expect((await attempts(hookKey)).filter((a) => a.body?.data?.payload?.total === 7)).toHaveLength(0);
  });

  it("expires an unanswered wait at the scheduler's tick: the call counts as denied, and a late decision is a 409 that says so", async () => {
    const { runId } = await start([postWebhook({ total: 1 }), { text: "Went on without posting." }], {
      requireApproval: ["send_webhook"],
      approvalTimeoutSeconds: 60,
    });
    const waiting = await waitingRun(runId);
    expect(Date.parse(waiting.waitingFor.expiresAt) - Date.parse(waiting.waitingFor.askedAt)).toBe(60_000);
    // The clock moves past the expiry (the wait's expiry is set back instead of waiting a minute).
    const expiredAt = Date.now() - 1000;
    await env.DB.prepare("UPDATE waits SET expires_at = ? WHERE run_id = ?").bind(expiredAt, runId).run();
    const late = await api.post(`/runs/${runId}/approval`, { decision: "approve" });
    expect(late.status).toBe(409);
    expect(late.body.error.message).toContain(`expired at ${new Date(expiredAt).toISOString()}`);
    await tick(Date.now());
    expect(await waitForRunEnd(runId)).toMatchObject({ status: "completed", summary: "Went on without posting." });
    expect((await stepsOf(runId))[0].observation).toBe(`denied: no answer before ${new Date(expiredAt).toISOString()} (the call was not run)`);
    // Still told it expired once the tick resumed the run and it ended.
    const later = await api.post(`/runs/${runId}/approval`, { decision: "approve" });
    expect(later.status).toBe(409);
    expect(later.body.error.message).toContain("expired at");
  });

  it("follows the decision on a call even when the goal's requireApproval changed before the resume", async () => {
    const { runId, goal, hookKey } = await start([postWebhook({ total: 5 }), { text: "Not posted." }], { requireApproval: ["send_webhook"] });
    await waitingRun(runId);
    expect((await api.patch(`/goals/${goal.id}`, { params: {} })).status).toBe(200);
    expect((await api.post(`/runs/${runId}/approval`, { decision: "deny" })).status).toBe(202);
    expect(await waitForRunEnd(runId)).toMatchObject({ status: "completed", summary: "Not posted." });
    expect((await stepsOf(runId))[0].observation).toBe("denied by the user (the call was not run)");
    expect((await attempts(hookKey)).filter((a) => a.body?.data?.payload?.total === 5)).toHaveLength(0);
  });

  it("asks for two calls of one turn one after the other, each decided on its own", async () => {
    const { runId, hookKey } = await start(
      [{ toolCalls: [postWebhook({ total: 11 }).toolCalls[0], postWebhook({ total: 12 }).toolCalls[0]] }, finish("One of two posted.")],
      { requireApproval: ["send_webhook"] },
    );
    expect((await waitingRun(runId)).waitingFor).toMatchObject({ stepNo: 1, input: { payload: { total: 11 } } });
    expect((await api.post(`/runs/${runId}/approval`, { decision: "approve" })).status).toBe(202);
    const second = await vi.waitFor(
      async () => {
        const r = (await api.get(`/runs/${runId}`)).body;
        if (r.waitingFor?.stepNo !== 2) throw new Error(`run is ${r.status}`);
        return r;
      },
      { timeout: 20_000, interval: 100 },
    );
    expect(second.waitingFor).toMatchObject({ kind: "approval", input: { payload: { total: 12 } } });
    expect((await api.post(`/runs/${runId}/approval`, { decision: "deny", note: "one is enough" })).status).toBe(202);
    expect(await waitForRunEnd(runId)).toMatchObject({ status: "completed", summary: "One of two posted." });
    const steps = await stepsOf(runId);
    expect(steps.map((s) => [s.stepNo, s.toolName, s.error])).toEqual([
      [1, "send_webhook", null],
      [2, "send_webhook", null],
      [3, "finish", null],
    ]);
    expect(steps[1].observation).toBe("denied by the user: one is enough (the call was not run)");
    const posted = (await attempts(hookKey)).map((a) => a.body?.data?.payload?.total).filter(Boolean);
    expect(posted).toEqual([11]);
  });

  it("survives a restart while waiting, then completes once approved", async () => {
    const { runId, key, hookKey } = await start([postWebhook({ total: 9 }), finish("Posted after the restart.")], { requireApproval: ["send_webhook"] });
    await waitingRun(runId);
    await abortAllDurableObjects();
    expect((await api.get(`/runs/${runId}`)).body).toMatchObject({ status: "waiting", waitingFor: { tool: "send_webhook" } });
    expect((await api.post(`/runs/${runId}/approval`, { decision: "approve" })).status).toBe(202);
    expect(await waitForRunEnd(runId)).toMatchObject({ status: "completed", summary: "Posted after the restart.", stepsExecuted: 2 });
    expect((await attempts(hookKey)).filter((a) => a.body?.data?.payload?.total === 9)).toHaveLength(1);
    expect((await llmStats(key)).requests).toBe(2);
  });

  it("keeps a file's newest content across the wait: the resume writes only what was not written yet", async () => {
    const write = (content: string) => ({ name: "write_file", arguments: { path: "r.md", content } });
    const { runId, goal } = await start(
      [{ toolCalls: [write("v1")] }, { toolCalls: [write("v2"), { name: "send_webhook", arguments: { payload: { x: 1 } } }] }, finish("done")],
      { requireApproval: ["send_webhook"] },
    );
    await waitingRun(runId);
    // The turn's write is recorded (and saved) before the run waits.
    expect((await api.get(`/goals/${goal.id}/files/r.md`)).body).toBe("v2");
    expect((await api.post(`/runs/${runId}/approval`, { decision: "approve" })).status).toBe(202);
    expect(await waitForRunEnd(runId)).toMatchObject({ status: "completed", stepsExecuted: 4 });
    expect((await api.get(`/goals/${goal.id}/files/r.md`)).body).toBe("v2");
    const files = (await api.get(`/runs/${runId}/outputs`)).body.items.filter((o: any) => o.kind === "file");
    expect(files).toHaveLength(2);
  });

  it("never sends an approved call twice when the process dies before the turn's next wait is open", async () => {
    const { runId, goal, hookKey } = await start([{ toolCalls: [postWebhook({ a: 1 }).toolCalls[0], postWebhook({ b: 2 }).toolCalls[0]] }, finish("done")], {
      requireApproval: ["send_webhook"],
      // No tool that shows links: the resume reads no steps back from D1.
      allowedTools: ["send_webhook"],
    });
    await waitingRun(runId);
    // D1 refuses step writes, so the resumed turn stalls (retrying) between the approved call and the second wait.
    const restore = await refuseStepWrites();
    const sentA = async () => (await attempts(hookKey)).filter((a) => a.body?.data?.payload?.a === 1);
    try {
      expect((await api.post(`/runs/${runId}/approval`, { decision: "approve" })).status).toBe(202);
      await vi.waitFor(async () => expect(await sentA()).toHaveLength(1), { timeout: 10_000, interval: 20 });
      await abortAllDurableObjects();
      await restore();
      const batch = createMessageBatch("async-agent-runs", [
        { id: `m-${Math.random()}`, timestamp: new Date(), attempts: 1, body: { runId, goalId: goal.id } },
      ]);
      await consumeRuns(batch, env);
      getQueueResult(batch, createExecutionContext());
      expect(await waitingRun(runId)).toMatchObject({ waitingFor: { tool: "send_webhook", input: { payload: { b: 2 } } } });
      expect(await sentA()).toHaveLength(1);
    } finally {
      await restore();
    }
  });

  it("counts a waiting run as active for the overlap policy; cancels it at once; deciding it afterwards is a 409", async () => {
    const { runId, hookKey, goal } = await start([postWebhook({ total: 3 }), finish("never")], { requireApproval: ["send_webhook"] });
    await waitingRun(runId);
    const overlapping = await api.post(`/goals/${goal.id}/run`);
    expect(overlapping.body).toMatchObject({ status: "skipped", error: `overlap: run ${runId} of this goal was still active` });
    const res = await api.post(`/runs/${runId}/cancel`);
    expect(res.status).toBe(202);
    expect(res.body.status).toBe("cancelled");
    expect((await api.post(`/runs/${runId}/approval`, { decision: "approve" })).body.error.message).toContain("is cancelled: it waits for nothing");
    await vi.waitFor(async () => expect((await attempts(hookKey)).some((a) => a.body?.type === "run.cancelled")).toBe(true), { timeout: 10_000 });
    expect((await attempts(hookKey)).filter((a) => a.body?.data?.payload?.total === 3)).toHaveLength(0);
  });

  it("refuses unknown tools in requireApproval and a timeout out of range, naming the field, and writes nothing", async () => {
    const before = (await env.DB.prepare("SELECT count(*) AS c FROM goals").first<{ c: number }>())?.c;
    const bad = await api.post("/goals", { objective: "x", params: { requireApproval: ["send_webhook", "post_tweet"], approvalTimeoutSeconds: 5 } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain("params.approvalTimeoutSeconds");
    const unknown = await api.post("/goals", { objective: "x", params: { requireApproval: ["post_tweet"] } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toContain('params.requireApproval[0]: unknown tool "post_tweet"');
    expect((await env.DB.prepare("SELECT count(*) AS c FROM goals").first<{ c: number }>())?.c).toBe(before);
  });
});

describe("one-click decision links", () => {
  it("shows a page on GET (deciding nothing), decides on the page's POST once, and refuses reused, expired, tampered and foreign links", async () => {
    const { runId, hookKey } = await start([postWebhook({ note: "<script>alert(1)</script>" }), finish("Posted via the link.")], {
      requireApproval: ["send_webhook"],
    });
    await waitingRun(runId);
    const { links } = (await waitingEvent(hookKey)).body.data;
    const page = await call("GET", links.approve);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/text\/html/);
    expect(page.body).toContain("send_webhook");
    expect(page.body).toContain("&#60;script&#62;alert(1)&#60;/script&#62;");
    expect(page.body).not.toContain("<script>");
    expect(page.body).toContain('<form method="post">');
    // Opening the links (a mail scanner does) decides nothing.
    await call("GET", links.deny);
    expect((await api.get(`/runs/${runId}`)).body.status).toBe("waiting");

    const tampered = links.approve.replace(/.$/, (ch: string) => (ch === "A" ? "B" : "A"));
    expect((await call("POST", tampered, { raw: "note=x", headers: { "content-type": "application/x-www-form-urlencoded" } })).status).toBe(400);
    const foreign = await decisionToken(
      { ...env, API_TOKEN: "someone-else's-token" },
      { waitId: `${runId}.w1`, decision: "approve", expiresAt: Date.now() + 60_000 },
    );
    expect((await call("POST", `/decide/${foreign}`)).status).toBe(400);
    const expired = await decisionToken(env, { waitId: `${runId}.w1`, decision: "approve", expiresAt: Date.now() - 1 });
    const exp = await call("POST", `/decide/${expired}`);
    expect(exp.status).toBe(409);
    expect((await api.get(`/runs/${runId}`)).body.status).toBe("waiting");

    const form = { raw: "note=from+the+email", headers: { "content-type": "application/x-www-form-urlencoded" } };
    const decided = await call("POST", links.approve, form);
    expect(decided.status).toBe(200);
    expect(decided.body).toContain("Approved");
    const reused = await call("POST", links.approve, form);
    expect(reused.status).toBe(409);
    expect((await call("POST", links.deny, form)).status).toBe(409);
    expect(await waitForRunEnd(runId)).toMatchObject({ status: "completed", summary: "Posted via the link." });
    expect((await attempts(hookKey)).filter((a) => a.body?.data?.payload?.note === "<script>alert(1)</script>")).toHaveLength(1);
  });

  it("emails the owner once per wait, with the links, when an email provider is configured", async () => {
    const goal = await createGoal({ objective: "Email test", params: { emailRecipients: ["@corp.example", "owner@corp.example"] } });
    const run = await insertRun(db, { goalId: goal.id, trigger: "manual", stepBudget: 5, status: "running" });
    const { wait } = await openWait(db, {
      runId: run.id,
      stepNo: 1,
      kind: "question",
      tool: "ask_user",
      input: { question: "Which region?" },
      question: "Which region?",
      choices: ["EU", "US"],
      expiresAt: Date.now() + 3600_000,
    });
    const withResend = { ...env, EMAIL_PROVIDER: "resend", PUBLIC_URL: "https://agents.example.com" };
    await Promise.all([notifyRunWaiting(withResend, run.id, wait), notifyRunWaiting(withResend, run.id, wait)]);
    const sent = ((await (await fetch(`${env.RESEND_BASE_URL}/emails`)).json()) as { data: any[] }).data.filter(
      (e) => e.subject === "A question from your agent",
    );
    expect(sent).toHaveLength(1);
    expect(sent[0].to).toEqual(["owner@corp.example"]);
    expect(sent[0].text).toContain("Which region?");
    expect(sent[0].text).toMatch(/Answer: https:\/\/agents\.example\.com\/decide\/[\w-]+\.[\w-]+/);
  });
});

describe("questions", () => {
  it("asks with ask_user when the goal allows it, and the answer becomes the observation", async () => {
    const { runId, key } = await start(
      [{ toolCalls: [{ name: "ask_user", arguments: { question: "Which region first?", choices: ["EU", "US"] } }] }, { text: "Starting with EU." }],
      { allowedTools: ["ask_user", "remember"] },
    );
    const waiting = await waitingRun(runId);
    expect(waiting.waitingFor).toMatchObject({ kind: "question", stepNo: 1, question: "Which region first?", choices: ["EU", "US"] });
    const wrongKind = await api.post(`/runs/${runId}/approval`, { decision: "approve" });
    expect(wrongKind.status).toBe(409);
    expect(wrongKind.body.error.message).toContain("waits for an answer");
    expect((await api.post(`/runs/${runId}/answer`, { text: "" })).status).toBe(400);
    expect((await api.post(`/runs/${runId}/answer`, { text: "EU, then US" })).status).toBe(202);
    expect(await waitForRunEnd(runId)).toMatchObject({ status: "completed", summary: "Starting with EU." });
    expect((await stepsOf(runId))[0]).toMatchObject({ toolName: "ask_user", observation: "The owner answered: EU, then US" });
    expect((await llmStats(key)).toolsOffered[0]).toContain("ask_user");
  });

  it("does not offer ask_user to a goal that does not name it (a scheduled run nobody watches should not stop to ask)", async () => {
    const { runId, key } = await start([{ text: "Done." }]);
    await waitForRunEnd(runId);
    const offered = (await llmStats(key)).toolsOffered[0];
    expect(offered).not.toContain("ask_user");
    expect(offered).toContain("update_plan");
  });
});

describe("the visible plan", () => {
  it("keeps the latest plan on the run, streams plan events, and does not count plan updates against the step budget", async () => {
    const plan = (statuses: string[]) => ({
      toolCalls: [{ name: "update_plan", arguments: { items: statuses.map((status, i) => ({ title: `Item ${i + 1}`, status })) } }],
    });
    const remember = (content: string) => ({ toolCalls: [{ name: "remember", arguments: { content } }] });
    const { runId } = await start(
      [plan(["in_progress", "pending"]), remember("a"), plan(["done", "in_progress"]), remember("b"), plan(["done", "done"]), finish("Both items done.")],
      { stepBudget: 3 },
    );
    const ended = await waitForRunEnd(runId);
    // 6 steps in a budget of 3: the three plan updates did not count.
    expect(ended).toMatchObject({ status: "completed", endReason: "finished", stepsExecuted: 6 });
    expect(ended.plan).toMatchObject({
      items: [
        { title: "Item 1", status: "done" },
        { title: "Item 2", status: "done" },
      ],
    });
    const res = await call("GET", `/api/v1/runs/${runId}/stream`);
    const events = String(res.body)
      .split("\n\n")
      .filter((b) => b.includes("event: plan"));
    expect(events).toHaveLength(1);
    expect(events[0]).toContain('"status":"done"');
  });
});
