/**
 * MCP servers as tool sources, against real MCP servers (the official SDK's server side, test/fakes/mcp.ts)
 * on 127.0.0.1: the registry routes, header secrecy, goals opting in, and runs calling the servers' tools.
 */
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { gateOf } from "../../worker/agent/person-gate";
import { app } from "../../worker/api/app";
import type { GoalRow } from "../../worker/db/schema";
import type { Tool } from "../../worker/tools/tool";
import { anyToolNameMatches, mcpServerOf, mcpToolName, toolNameMatches } from "../../worker/domain/tool-names";
import { toolRecords } from "../../worker/tools/mcp-client";
import { refreshServer } from "../../worker/tools/mcp-tools";
import { getMcpServer } from "../../worker/db/mcp-servers";
import { dbFor } from "../../worker/db/client";
import { TEST_API_TOKEN, TEST_MCP_SECRETS_KEY } from "../bindings";
import type { McpLogEntry } from "../fakes/mcp";
import { llmStats, startScriptedRun, stepsOf, waitForRunEnd } from "./agent-helpers";
import { api } from "./api";

const control = (path: string, init?: RequestInit) => fetch(`${env.TEST_MCP_URL}${path}`, init);

/** Starts a real MCP server (its own port); with `token`, it answers only `Authorization: Bearer <token>`. */
async function mcpServer(token?: string): Promise<{ id: string; url: string }> {
  const res = await control("/servers", { method: "POST", body: JSON.stringify({ token }) });
  expect(res.status).toBe(201);
  const s = (await res.json()) as { id: string; url: string };
  return { id: s.id, url: `${s.url}/mcp` };
}
const serverLog = async (id: string) => ((await (await control(`/servers/${id}/log`)).json()) as { entries: McpLogEntry[] }).entries;
const calls = async (id: string) => (await serverLog(id)).filter((e) => e.method === "tools/call");

let seq = 0;
const uniqueName = (base: string) => `${base}-${++seq}-${Math.random().toString(36).slice(2, 6)}`;

/** Registers a fresh server under a new name; returns its name, id and token. */
async function registered(withToken = true) {
  const token = withToken ? `tok-${crypto.randomUUID()}` : undefined;
  const srv = await mcpServer(token);
  const name = uniqueName("docs");
  const res = await api.post("/mcp-servers", { name, url: srv.url, headers: token ? { Authorization: `Bearer ${token}` } : undefined });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return { name, token, ...srv, body: res.body };
}

/** A call to the Worker with bindings that differ from the suite's by `vars`. */
async function callWith(vars: Record<string, string>, method: string, path: string, body?: unknown) {
  const res = await app.fetch(
    new Request(`http://worker/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${TEST_API_TOKEN}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
    { ...env, ...vars },
    createExecutionContext(),
  );
  return { status: res.status, body: (await res.json()) as any };
}

describe("MCP tool names", () => {
  it("names tools <server>__<tool> within the providers' rules, shortening long names with a stable hash", () => {
    expect(mcpToolName("docs", "lookup")).toBe("docs__lookup");
    expect(mcpToolName("docs", "search.pages v2")).toBe("docs__search_pages_v2");
    const long = mcpToolName("knowledge-base", "x".repeat(80));
    expect(long).toMatch(/^knowledge-base__x{39}_[0-9a-f]{8}$/);
    expect(long).toHaveLength(64);
    expect(mcpToolName("knowledge-base", "x".repeat(80))).toBe(long);
    expect(mcpToolName("knowledge-base", `${"x".repeat(79)}y`)).not.toBe(long);
    // Two tools that read the same once sanitised get different names.
    const recs = toolRecords("docs", [
      { name: "a.b", inputSchema: { type: "object" } },
      { name: "a b", inputSchema: { type: "object" } },
    ]);
    expect(recs.map((r) => r.name)).toEqual(["docs__a_b", expect.stringMatching(/^docs__a_b_[0-9a-f]{8}$/)]);
  });

  it("matches allowedTools / requireApproval patterns: exact names and <server>__*", () => {
    expect(mcpServerOf("docs__lookup")).toBe("docs");
    expect(mcpServerOf("my-kb__*")).toBe("my-kb");
    expect(mcpServerOf("web_search")).toBeNull();
    expect(toolNameMatches("docs__*", "docs__lookup")).toBe(true);
    expect(toolNameMatches("docs__*", "docsx__lookup")).toBe(false);
    expect(toolNameMatches("docs__lookup", "docs__lookup")).toBe(true);
    expect(toolNameMatches("docs__lookup", "docs__lookups")).toBe(false);
    expect(toolNameMatches("web_search", "web_search")).toBe(true);
    expect(anyToolNameMatches(["finish", "kb__*"], "kb__whoami")).toBe(true);
    expect(anyToolNameMatches(["finish", "kb__*"], "web_search")).toBe(false);
  });

  it("keeps a gated MCP tool gated when a look-alike listed first takes its cleaned name", () => {
    const goal = { params: { requireApproval: ["docs__send_email"] } } as unknown as GoalRow;
    const call = (name: string) => ({ id: "c1", name, arguments: "{}" });
    const tool = (name: string, raw: string): Tool => ({
      name,
      alias: `docs__${raw}`,
      description: "",
      input: z.object({}),
      execute: async () => ({ text: "" }),
    });
    // The server lists "send.email" before "send_email": the real one is shortened with a hash, the look-alike takes the plain name.
    const [lookAlike, real] = toolRecords("docs", [{ name: "send.email" }, { name: "send_email" }] as never).map((r) => r.name);
    expect(lookAlike).toBe("docs__send_email");
    expect(real).toMatch(/^docs__send_email_[0-9a-f]{8}$/);
    expect(gateOf(goal, call(real), tool(real, "send_email"))?.kind).toBe("approval");
    expect(gateOf(goal, call(lookAlike), tool(lookAlike, "send.email"))?.kind).toBe("approval");
  });
});

describe("registering MCP servers", () => {
  it("registers a server that needs a bearer header: a wrong header fails clearly and leaves nothing; headers never show", async () => {
    const token = `tok-${crypto.randomUUID()}`;
    const srv = await mcpServer(token);
    const name = uniqueName("kb");
    const wrong = await api.post("/mcp-servers", { name, url: srv.url, headers: { Authorization: "Bearer not-the-token" } });
    expect(wrong.status).toBe(502);
    expect(wrong.body.error.code).toBe("bad_gateway");
    expect(wrong.body.error.message).toMatch(/did not answer as an MCP server: the server refused the request \(HTTP 401\): check the headers/);
    expect(JSON.stringify(wrong.body)).not.toContain("not-the-token");
    expect((await api.get(`/mcp-servers/${name}`)).status).toBe(404);

    const ok = await api.post("/mcp-servers", { name, url: srv.url, headers: { Authorization: `Bearer ${token}` } });
    expect(ok.status).toBe(201);
    expect(ok.body).toMatchObject({
      name,
      url: srv.url,
      headerNames: ["Authorization"],
      status: "ready",
      lastError: null,
      serverInfo: { name: `fake-mcp-${srv.id}` },
    });
    expect(ok.body.tools.map((t: { name: string }) => t.name)).toEqual(expect.arrayContaining([`${name}__lookup`, `${name}__fail`, `${name}__whoami`]));
    const lookup = ok.body.tools.find((t: { tool: string }) => t.tool === "lookup");
    expect(lookup).toMatchObject({ description: "Look up: Looks up a fact by query", inputSchema: { type: "object", required: ["query"] } });

    // The header value is in no answer: create, get, list, the tools list, the OpenAPI document.
    const answers = [ok, await api.get(`/mcp-servers/${name}`), await api.get("/mcp-servers"), await api.get("/tools")];
    for (const a of answers) {
      expect(a.status).toBe(200 + (a === ok ? 1 : 0));
      expect(JSON.stringify(a.body)).not.toContain(token);
    }
    const tools = (await api.get("/tools")).body.items as { name: string; source: string; state: string }[];
    expect(tools.find((t) => t.name === `${name}__lookup`)).toMatchObject({ source: `mcp:${name}`, state: "ready" });
    expect(tools.find((t) => t.name === "web_search")).toMatchObject({ source: "builtin" });
    // The server saw the header it requires on every request.
    const log = await serverLog(srv.id);
    expect(log.filter((e) => e.authorization === `Bearer ${token}`).map((e) => e.method)).toEqual(expect.arrayContaining(["initialize", "tools/list"]));
  });

  it("documents the routes and shapes in the OpenAPI document (for the CLI and the dashboard)", async () => {
    const doc = (await api.get("/openapi.json")).body;
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/mcp-servers", "/mcp-servers/{name}", "/mcp-servers/{name}/refresh"]));
    expect(Object.keys(doc.paths["/mcp-servers/{name}"])).toEqual(expect.arrayContaining(["get", "patch", "delete"]));
    expect(doc.components.schemas.McpServer.properties).toHaveProperty("headerNames");
    expect(doc.components.schemas.McpServer.properties).not.toHaveProperty("headers");
    expect(doc.components.schemas.ToolInfo.properties).toHaveProperty("source");
  });

  it("refuses what cannot be registered, each with the reason, and writes nothing", async () => {
    const srv = await mcpServer();
    const name = uniqueName("x");
    const notMcp = await api.post("/mcp-servers", { name, url: `${env.TEST_PAGES_URL}/article.html` });
    expect(notMcp.status).toBe(502);
    expect(notMcp.body.error.message).toContain("did not answer as an MCP server");
    const down = await api.post("/mcp-servers", { name, url: "http://127.0.0.1:1/mcp" });
    expect(down.status).toBe(502);
    expect(down.body.error.message).toMatch(/network error|connect/i);
    const badName = await api.post("/mcp-servers", { name: "Bad_Name", url: srv.url });
    expect(badName.status).toBe(400);
    expect(badName.body.error.message).toMatch(/^name: /);
    const managed = await api.post("/mcp-servers", { name, url: srv.url, headers: { "Mcp-Session-Id": "x" } });
    expect(managed.status).toBe(400);
    expect(managed.body.error.message).toMatch(/headers.*sets this header itself/);
    const ftp = await api.post("/mcp-servers", { name, url: "ftp://127.0.0.1/mcp" });
    expect(ftp.status).toBe(400);
    expect(ftp.body.error.message).toMatch(/^url: /);
    expect((await api.get(`/mcp-servers/${name}`)).status).toBe(404);

    // A private address without ALLOW_PRIVATE_NETWORK: refused before anything is sent.
    const before = (await serverLog(srv.id)).length;
    const priv = await callWith({ ALLOW_PRIVATE_NETWORK: "false" }, "POST", "/mcp-servers", { name, url: srv.url });
    expect(priv.status).toBe(400);
    expect(priv.body.error.message).toMatch(/^url: refused 127\.0\.0\.1: loopback address \(private networks are not reachable\); ALLOW_PRIVATE_NETWORK=true/);
    expect((await serverLog(srv.id)).length).toBe(before);

    // Headers without MCP_SECRETS_KEY: refused with that reason (without headers it works).
    const noKey = await callWith({ MCP_SECRETS_KEY: "" }, "POST", "/mcp-servers", { name, url: srv.url, headers: { Authorization: "Bearer abcdef" } });
    expect(noKey.status).toBe(503);
    expect(noKey.body.error.message).toMatch(/MCP_SECRETS_KEY is not set.*wrangler secret put MCP_SECRETS_KEY/);
    expect((await api.get(`/mcp-servers/${name}`)).status).toBe(404);
    expect((await callWith({ MCP_SECRETS_KEY: "" }, "POST", "/mcp-servers", { name, url: srv.url })).status).toBe(201);
    const taken = await api.post("/mcp-servers", { name, url: srv.url });
    expect(taken.status).toBe(409);
  });

  it("stores the header values encrypted: the row holds neither the value nor its base64, and another key cannot open it", async () => {
    const s = await registered();
    const row = await env.DB.prepare("SELECT * FROM mcp_servers WHERE name = ?").bind(s.name).first<Record<string, string>>();
    const stored = JSON.stringify(row);
    expect(stored).not.toContain(s.token!);
    expect(stored).not.toContain(btoa(`Bearer ${s.token}`).slice(0, 20));
    expect(row!.headers_sealed).toMatch(/^v1\./);
    const otherKey = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));
    expect(otherKey).not.toBe(TEST_MCP_SECRETS_KEY);
    const refreshed = await callWith({ MCP_SECRETS_KEY: otherKey }, "POST", `/mcp-servers/${s.name}/refresh`);
    expect(refreshed.status).toBe(502);
    expect(refreshed.body.error.message).toMatch(/does not open with this MCP_SECRETS_KEY/);
  });

  it("picks up a tool added on the server after a refresh; PATCH checks new headers first; DELETE removes", async () => {
    const s = await registered();
    expect(s.body.tools.map((t: { tool: string }) => t.tool)).not.toContain("summarize");
    await control(`/servers/${s.id}/tools`, { method: "POST", body: JSON.stringify({ name: "summarize" }) });
    const refreshed = await api.post(`/mcp-servers/${s.name}/refresh`);
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.tools.map((t: { name: string }) => t.name)).toContain(`${s.name}__summarize`);
    expect(Date.parse(refreshed.body.refreshedAt)).toBeGreaterThanOrEqual(Date.parse(s.body.refreshedAt));

    const bad = await api.patch(`/mcp-servers/${s.name}`, { headers: { Authorization: "Bearer wrong-token-1" } });
    expect(bad.status).toBe(502);
    // Nothing changed: the stored headers still work.
    expect((await api.post(`/mcp-servers/${s.name}/refresh`)).status).toBe(200);
    const cleared = await api.patch(`/mcp-servers/${s.name}`, { headers: null });
    expect(cleared.status).toBe(502); // the server requires its token
    const good = await api.patch(`/mcp-servers/${s.name}`, { headers: { Authorization: `Bearer ${s.token}`, "X-Team": "research" } });
    expect(good.status).toBe(200);
    expect(good.body.headerNames).toEqual(["Authorization", "X-Team"]);
    // The stored bearer token is never sent to another origin unasked: a new URL needs its headers again.
    const moved = await api.patch(`/mcp-servers/${s.name}`, { url: "http://127.0.0.2:9/mcp" });
    expect(moved.status).toBe(400);
    expect(moved.body.error.message).toContain("headers: a new origin needs its headers again");

    // A server that stopped: the refresh says so and keeps the last tools.
    await control(`/servers/${s.id}/stop`, { method: "POST" });
    const gone = await api.post(`/mcp-servers/${s.name}/refresh`);
    expect(gone.status).toBe(502);
    const shown = (await api.get(`/mcp-servers/${s.name}`)).body;
    expect(shown).toMatchObject({ status: "error", lastError: expect.stringMatching(/network error/) });
    expect(shown.tools.length).toBeGreaterThan(0);
    expect((await api.get("/tools")).body.items.find((t: { name: string }) => t.name === `${s.name}__lookup`)).toMatchObject({ state: "limited" });

    expect((await api.del(`/mcp-servers/${s.name}`)).status).toBe(204);
    expect((await api.get(`/mcp-servers/${s.name}`)).status).toBe(404);
    expect((await api.del(`/mcp-servers/${s.name}`)).status).toBe(404);
  });
});

describe("a listing that lost a race with a PATCH", () => {
  it("is not recorded: a refresh that started on the old URL neither replaces the new tools nor marks the server failed", async () => {
    const s = await registered(false);
    const before = (await getMcpServer(dbFor(env.DB), s.name))!; // the row a run start or a refresh read
    const other = await mcpServer();
    await control(`/servers/${other.id}/tools`, { method: "POST", body: JSON.stringify({ name: "summarize" }) });
    const moved = await api.patch(`/mcp-servers/${s.name}`, { url: other.url });
    expect(moved.status, JSON.stringify(moved.body)).toBe(200);

    // The refresh of the old row ends after the PATCH: its listing (no summarize) must not overwrite the new one.
    const answered = await refreshServer(dbFor(env.DB), env, before);
    expect(answered).toMatchObject({ url: other.url, status: "ready" });
    const toolsNow = async () => (await api.get(`/mcp-servers/${s.name}`)).body.tools.map((t: { tool: string }) => t.tool);
    expect(await toolsNow()).toContain("summarize");

    // Nor may its failure: the old server stopped, the moved one is fine.
    await control(`/servers/${s.id}/stop`, { method: "POST" });
    expect(await refreshServer(dbFor(env.DB), env, before)).toMatchObject({ url: other.url, status: "ready", lastError: null });
    expect((await api.get(`/mcp-servers/${s.name}`)).body).toMatchObject({ status: "ready", url: other.url });
    expect(await toolsNow()).toContain("summarize");

    // A server removed while it was listed: nothing is recorded, nothing comes back, no row reappears.
    const current = (await getMcpServer(dbFor(env.DB), s.name))!;
    expect((await api.del(`/mcp-servers/${s.name}`)).status).toBe(204);
    expect(await refreshServer(dbFor(env.DB), env, current)).toBeUndefined();
    expect(await getMcpServer(dbFor(env.DB), s.name)).toBeUndefined();
  });
});

describe("goals opting in to MCP servers", () => {
  it("refuses unknown server names in mcpServers, allowedTools and requireApproval, naming the field", async () => {
    const s = await registered(false);
    const res = await api.post("/goals", {
      objective: "x",
      params: { mcpServers: [s.name, "nope"], allowedTools: ["web_search", "ghost__*", `${s.name}__lookup`], requireApproval: ["other__send"] },
    });
    expect(res.status).toBe(400);
    const paths = res.body.error.details.issues.map((i: { path: string }) => i.path);
    expect(paths).toEqual(["params.mcpServers[1]", "params.allowedTools[1]", "params.requireApproval[0]"]);
    expect(res.body.error.message).toContain('unknown MCP server "nope"');
    const malformed = await api.post("/goals", { objective: "x", params: { allowedTools: ["docs__bad name"] } });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.message).toMatch(/^params\.allowedTools\.0: expected a tool name/);
    const ok = await api.post("/goals", { objective: "x", params: { mcpServers: [s.name], allowedTools: ["finish", `${s.name}__*`] } });
    expect(ok.status).toBe(201);
  });
});

describe("runs that use MCP tools", () => {
  it("calls <server>__lookup: the answer is in the steps as untrusted content, the call in the server's log with its header", async () => {
    const s = await registered();
    const { run } = await startScriptedRun(
      {
        turns: [
          { toolCalls: [{ name: `${s.name}__lookup`, arguments: { query: "meaning of life" } }] },
          { toolCalls: [{ name: `${s.name}__whoami`, arguments: {} }] },
          { toolCalls: [{ name: `${s.name}__document`, arguments: {} }] },
          { text: "The answer is 42." },
        ],
      },
      { params: { mcpServers: [s.name] } },
    );
    const ended = await waitForRunEnd(run.id);
    expect(ended).toMatchObject({ status: "completed", summary: "The answer is 42." });
    const steps = await stepsOf(run.id);
    expect(steps[0]).toMatchObject({ toolName: `${s.name}__lookup`, error: null });
    expect(steps[0].observation).toContain('The answer to "meaning of life" is 42');
    expect(steps[0].observation).toContain('<untrusted_content source="MCP server');
    expect(steps[0].observation).toContain('structured content: {"query":"meaning of life","answer":42}');
    // The server echoed the Authorization header: the observation shows it redacted.
    expect(steps[1].observation).toContain("Authorization: [redacted]");
    expect(steps[2].observation).toContain("Quarterly memo: revenue up 3%.");
    expect(steps[2].observation).toContain(`[resource memo://${s.id}/readme (text/plain)]`);
    const all = JSON.stringify([ended, steps, (await api.get(`/runs/${run.id}`)).body]);
    expect(all).not.toContain(s.token!);

    const made = await calls(s.id);
    expect(made.map((c) => c.tool)).toEqual(["lookup", "whoami", "document"]);
    expect(made[0]).toMatchObject({ arguments: { query: "meaning of life" }, authorization: `Bearer ${s.token}` });
  });

  it("turns a schema mismatch, an isError result and a vanished tool into observations; the run goes on", async () => {
    const s = await registered();
    await control(`/servers/${s.id}/tools/document`, { method: "DELETE" });
    const { run } = await startScriptedRun(
      {
        turns: [
          { toolCalls: [{ name: `${s.name}__lookup`, arguments: { q: 1 } }] },
          { toolCalls: [{ name: `${s.name}__fail`, arguments: { reason: "maintenance" } }] },
          { toolCalls: [{ name: `${s.name}__document`, arguments: {} }] },
          { text: "Could not finish." },
        ],
      },
      { params: { mcpServers: [s.name], allowedTools: [`${s.name}__*`] } },
    );
    const ended = await waitForRunEnd(run.id);
    expect(ended.status).toBe("completed");
    const steps = await stepsOf(run.id);
    expect(steps[0].error).toMatch(new RegExp(`^invalid arguments for ${s.name}__lookup: \\(root\\): `));
    expect(steps[1].error).toMatch(new RegExp(`^${s.name}__fail failed: the tool reported an error:[\\s\\S]*lookup backend unavailable: maintenance`));
    expect(steps[2].error).toBe(
      `${s.name}__document failed: unavailable: MCP server ${s.name} no longer offers the tool "document" (its tool list changed); use another tool`,
    );
    // The mismatched arguments were never sent.
    expect((await calls(s.id)).map((c) => c.tool)).toEqual(["fail", "document"]);
  });

  it("fails only the calls made while the server is gone when it stops mid-run", async () => {
    const s = await registered();
    const { run } = await startScriptedRun(
      {
        turns: [
          { toolCalls: [{ name: `${s.name}__slow`, arguments: { ms: 20_000 } }] },
          { toolCalls: [{ name: `${s.name}__lookup`, arguments: { query: "still there?" } }] },
          { text: "The server went away." },
        ],
      },
      { params: { mcpServers: [s.name] } },
    );
    // Stop the server while the slow call is in flight.
    await vi.waitFor(async () => expect((await calls(s.id)).map((c) => c.tool)).toContain("slow"), { timeout: 15_000, interval: 100 });
    await control(`/servers/${s.id}/stop`, { method: "POST" });
    const ended = await waitForRunEnd(run.id);
    expect(ended).toMatchObject({ status: "completed", summary: "The server went away." });
    const steps = await stepsOf(run.id);
    expect(steps[0].error).toMatch(new RegExp(`^${s.name}__slow failed: MCP server ${s.name} failed: `));
    expect(steps[1].error).toMatch(new RegExp(`^${s.name}__lookup failed: MCP server ${s.name} failed: .*network error`));
  });

  it("lists a server again at run start when its listing is over 10 minutes old: a tool added since is offered", async () => {
    const s = await registered();
    await control(`/servers/${s.id}/tools`, { method: "POST", body: JSON.stringify({ name: "summarize" }) });
    await env.DB.prepare("UPDATE mcp_servers SET refreshed_at = ? WHERE name = ?")
      .bind(Date.now() - 11 * 60_000, s.name)
      .run();
    const { run, key } = await startScriptedRun(
      { turns: [{ toolCalls: [{ name: `${s.name}__summarize`, arguments: { text: "A long report about MCP." } }] }, { text: "Summarised." }] },
      { params: { mcpServers: [s.name] } },
    );
    expect(await waitForRunEnd(run.id)).toMatchObject({ status: "completed" });
    expect((await stepsOf(run.id))[0]).toMatchObject({ error: null, observation: expect.stringContaining("Summary: A long report about MCP.") });
    expect((await llmStats(key)).toolsOffered[0]).toContain(`${s.name}__summarize`);
    expect((await api.get(`/mcp-servers/${s.name}`)).body.tools.map((t: { tool: string }) => t.tool)).toContain("summarize");
  });

  it("holds an MCP call that needs approval (requireApproval <server>__*) and makes it once approved, on a new connection", async () => {
    const s = await registered();
    const { run } = await startScriptedRun(
      { turns: [{ toolCalls: [{ name: `${s.name}__lookup`, arguments: { query: "approved?" } }] }, { text: "Looked it up after approval." }] },
      { params: { mcpServers: [s.name], requireApproval: [`${s.name}__*`] } },
    );
    const waiting = await vi.waitFor(
      async () => {
        const r = await api.get(`/runs/${run.id}`);
        if (r.body.status !== "waiting") throw new Error(`run is ${r.body.status}`);
        return r.body;
      },
      { timeout: 20_000, interval: 100 },
    );
    expect(waiting.waitingFor).toMatchObject({ kind: "approval", tool: `${s.name}__lookup`, input: { query: "approved?" } });
    expect(await calls(s.id)).toEqual([]);
    expect((await api.post(`/runs/${run.id}/approval`, { decision: "approve" })).status).toBe(202);
    const ended = await waitForRunEnd(run.id);
    expect(ended).toMatchObject({ status: "completed", summary: "Looked it up after approval." });
    expect((await stepsOf(run.id))[0].observation).toContain('The answer to "approved?" is 42');
    // The resumed run (a new fiber) connected again and made the call once.
    expect((await calls(s.id)).map((c) => c.tool)).toEqual(["lookup"]);
  });
});
