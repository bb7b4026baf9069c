/** Goal input the Worker could never honour is refused up front, and deleting a goal stops its runs first. */
import { env } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { getAgentByName } from "agents";
import { describe, expect, it, vi } from "vitest";
import { app } from "../../worker/api/app";
import { knownToolNames } from "../../worker/api/goal-checks";
import { goalPrefix } from "../../worker/lib/artifacts";
import { api, createGoal } from "./api";
import { llmStats, startScriptedRun } from "./agent-helpers";

const countGoals = async () => (await env.DB.prepare("SELECT count(*) AS n FROM goals").first<{ n: number }>())!.n;

/** Calls the API with this deployment's env changed (e.g. private networks refused, as in production). */
async function callWith(vars: Partial<Env>, method: string, path: string, body?: unknown) {
  const res = await app.fetch(
    new Request(`http://worker/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${env.API_TOKEN}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
    { ...env, ...vars },
    createExecutionContext(),
  );
  return { status: res.status, body: (await res.json()) as any };
}
const production = { ALLOW_PRIVATE_NETWORK: "false" };

describe("webhook URLs the egress guard would refuse at delivery", () => {
  const undeliverable: [string, RegExp][] = [
    ["http://127.0.0.1:8080/x", /loopback/],
    ["http://localhost/x", /internal name/],
    ["http://[::1]/", /loopback/],
    ["http://10.1.2.3/hook", /private/],
    ["http://169.254.169.254/latest/meta-data", /link-local\/metadata/],
  ];
  for (const [url, why] of undeliverable) {
    it(`refuses ${url} on create and update when private networks are off, and writes nothing`, async () => {
      const before = await countGoals();
      const created = await callWith(production, "POST", "/goals", { objective: "hook check", webhookUrl: url });
      expect(created.status).toBe(400);
      expect(created.body.error.code).toBe("validation_error");
      expect(created.body.error.message).toMatch(/^webhookUrl: /);
      expect(created.body.error.message).toMatch(why);
      expect(await countGoals()).toBe(before);

      const g = await createGoal({ webhookUrl: "https://example.com/hook" });
      const patched = await callWith(production, "PATCH", `/goals/${g.id}`, { webhookUrl: url, objective: "changed" });
      expect(patched.status).toBe(400);
      expect(patched.body.error.message).toMatch(/^webhookUrl: /);
      expect((await api.get(`/goals/${g.id}`)).body).toMatchObject({ webhookUrl: "https://example.com/hook", objective: g.objective });
    });
  }

  it("refuses a URL with credentials in it even when private networks are allowed", async () => {
    expect(env.ALLOW_PRIVATE_NETWORK).toBe("true");
    const before = await countGoals();
    for (const url of ["https://user:pass@example.com/hook", "https://token@example.com/hook"]) {
      const res = await api.post("/goals", { objective: "creds", webhookUrl: url });
      expect(res.status, url).toBe(400);
      expect(res.body.error).toMatchObject({ code: "validation_error", message: expect.stringMatching(/^webhookUrl: refused a URL with credentials/) });
      expect(res.body.error.details.issues).toEqual([{ path: "webhookUrl", message: expect.any(String) }]);
    }
    expect(await countGoals()).toBe(before);
    const g = await createGoal();
    const patched = await api.patch(`/goals/${g.id}`, { webhookUrl: "https://user:pass@example.com/hook" });
    expect(patched.status).toBe(400);
    expect((await api.get(`/goals/${g.id}`)).body.webhookUrl).toBeNull();
  });

  it("accepts a public webhook URL under the production policy, a local one under the dev policy, and null to remove it", async () => {
    const pub = await callWith(production, "POST", "/goals", { objective: "public hook", webhookUrl: "https://hooks.example.com/in" });
    expect(pub.status).toBe(201);
    const local = await api.post("/goals", { objective: "local hook", webhookUrl: "http://127.0.0.1:8080/x" });
    expect(local.status).toBe(201);
    const removed = await callWith(production, "PATCH", `/goals/${local.body.id}`, { webhookUrl: null });
    expect(removed.status).toBe(200);
    expect(removed.body.webhookUrl).toBeNull();
  });
});

describe("params.allowedTools", () => {
  it("refuses an unknown tool name on create, naming its index and the known tools, and writes nothing", async () => {
    const before = await countGoals();
    const res = await api.post("/goals", { objective: "typo", params: { allowedTools: ["web_search", "fetch_pgae"] } });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("validation_error");
    expect(res.body.error.message).toBe(`params.allowedTools[1]: unknown tool "fetch_pgae" (known: ${knownToolNames().join(", ")})`);
    expect(res.body.error.message).toContain("fetch_page");
    expect(await countGoals()).toBe(before);
  });

  it("refuses an unknown tool name on update and keeps the goal's params", async () => {
    const g = await createGoal({ params: { allowedTools: ["web_search"], stepBudget: 4 } });
    const res = await api.patch(`/goals/${g.id}`, { params: { allowedTools: ["websearch"] } });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/^params\.allowedTools\[0\]: unknown tool "websearch" \(known: web_search, /);
    expect((await api.get(`/goals/${g.id}`)).body.params).toEqual({ allowedTools: ["web_search"], stepBudget: 4 });
  });

  it("accepts every registered tool and the loop's read_more", async () => {
    const all = knownToolNames();
    expect(all).toEqual(expect.arrayContaining(["web_search", "fetch_page", "write_file", "finish", "read_more"]));
    const g = await createGoal({ params: { allowedTools: all } });
    expect(g.params.allowedTools).toEqual(all);
    const res = await api.patch(`/goals/${g.id}`, { params: { allowedTools: ["read_more", "finish"] } });
    expect(res.status).toBe(200);
    expect(res.body.params.allowedTools).toEqual(["read_more", "finish"]);
  });
});

describe("DELETE /goals/:id", () => {
  it("stops the goal's running run before deleting: no LLM request after the delete and no file left under its prefix", async () => {
    const write = (path: string) => ({ toolCalls: [{ name: "write_file", arguments: { path, content: `# ${path}` } }] });
    const { key, goal, run } = await startScriptedRun(
      // Turn 2 is slow, so the delete lands while its LLM request is in flight; every later turn would write again.
      { turns: [write("first.md"), { ...write("second.md"), delayMs: 10_000 }], then: write("later.md") },
      { params: { stepBudget: 6 } },
    );
    const prefix = goalPrefix(goal.id);
    await vi.waitFor(
      async () => {
        expect((await llmStats(key))?.requests).toBe(2);
        expect((await env.ARTIFACTS.list({ prefix })).objects.map((o) => o.key)).toEqual([`${prefix}first.md`]);
      },
      { timeout: 20_000, interval: 50 },
    );
    const agent = await getAgentByName(env.GOAL_AGENT, goal.id);
    expect(await agent.isLive(run.id)).toBe(true);

    expect((await api.del(`/goals/${goal.id}`)).status).toBe(204);
    const requestsAtDelete = (await llmStats(key)).requests;

    await vi.waitFor(async () => expect(await agent.isLive(run.id)).toBe(false), { timeout: 15_000, interval: 50 });
    expect((await api.get(`/goals/${goal.id}`)).status).toBe(404);
    expect((await api.get(`/runs/${run.id}`)).status).toBe(404);
    expect((await llmStats(key)).requests).toBe(requestsAtDelete);
    expect((await env.ARTIFACTS.list({ prefix })).objects).toEqual([]);
  });
});
