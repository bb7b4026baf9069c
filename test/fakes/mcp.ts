/**
 * Real MCP servers for the tests, written with the official MCP TypeScript SDK (server side): each is an
 * `McpServer` behind a stateless `StreamableHTTPServerTransport` on its own 127.0.0.1 port, so a test can
 * stop one (its port then refuses connections) without touching another test's.
 *
 * The control server (the fake named "mcp") starts and inspects them:
 * - `POST /servers {token?}` starts one; with `token`, every request must carry `Authorization: Bearer <token>`
 *   (else 401). Answers `{id, url}`; the MCP endpoint is `<url>/mcp`.
 * - `POST /servers/<id>/tools {name}` adds one of the optional tools (`summarize`) from then on;
 *   `DELETE /servers/<id>/tools/<name>` removes one.
 * - `POST /servers/<id>/stop` closes the server; `GET /servers/<id>/log` lists what it received.
 *
 * Tools: `lookup {query}` (text and structured content), `fail {reason}` (an `isError` result), `whoami`
 * (echoes the Authorization header it got: the redaction test), `slow {ms}` (answers after ms), `document`
 * (an embedded resource), and `summarize {text}` once added.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { z } from "zod";
import { sendJson, serve, type Fake } from "./http.ts";

/** One request as the server saw it; `ms`: from its arrival to the end of the answer (the server's own time, bench:mcp). */
export type McpLogEntry = { at: number; method: string; tool?: string; arguments?: unknown; authorization: string | null; ms?: number };

type Instance = { id: string; server: Server; url: string; token: string | null; extra: Set<string>; removed: Set<string>; log: McpLogEntry[] };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());

/** The MCP server for one request (stateless: a new server and transport per request, as the SDK's example does). */
function mcpServerFor(inst: Instance, authorization: string | null): McpServer {
  const server = new McpServer({ name: `fake-mcp-${inst.id}`, version: "1.0.0" });
  const has = (name: string) => !inst.removed.has(name);
  if (has("lookup"))
    server.registerTool(
      "lookup",
      { title: "Look up", description: "Looks up a fact by query", inputSchema: { query: z.string().min(1).describe("What to look up") } },
      async ({ query }) => {
        const answer = `The answer to "${query}" is 42 (server ${inst.id})`;
        return { content: [{ type: "text", text: answer }], structuredContent: { query, answer: 42 } };
      },
    );
  if (has("fail"))
    server.registerTool("fail", { description: "Always fails", inputSchema: { reason: z.string().optional() } }, async ({ reason }) => ({
      isError: true,
      content: [{ type: "text", text: `lookup backend unavailable: ${reason ?? "no reason"}` }],
    }));
  if (has("whoami"))
    server.registerTool("whoami", { description: "Says which credentials the call carried" }, async () => ({
      content: [{ type: "text", text: `You called with Authorization: ${authorization ?? "(none)"}` }],
    }));
  if (has("slow"))
    server.registerTool("slow", { description: "Answers after a delay", inputSchema: { ms: z.number().int().min(0).max(60_000) } }, async ({ ms }) => {
      await sleep(ms);
      return { content: [{ type: "text", text: `slept ${ms} ms` }] };
    });
  if (has("document"))
    server.registerTool("document", { description: "Returns a document as an embedded resource" }, async () => ({
      content: [{ type: "resource", resource: { uri: `memo://${inst.id}/readme`, mimeType: "text/plain", text: "Quarterly memo: revenue up 3%." } }],
    }));
  if (inst.extra.has("summarize"))
    server.registerTool("summarize", { description: "Summarises a text", inputSchema: { text: z.string() } }, async ({ text }) => ({
      content: [{ type: "text", text: `Summary: ${text.slice(0, 40)}` }],
    }));
  return server;
}

async function handleMcp(inst: Instance, req: IncomingMessage, res: ServerResponse, raw: string) {
  const authorization = req.headers.authorization ?? null;
  let body: { method?: string; params?: { name?: string; arguments?: unknown } } | undefined;
  try {
    body = raw ? JSON.parse(raw) : undefined;
  } catch {
    body = undefined;
  }
  const started = performance.now();
  const entry: McpLogEntry = { at: Date.now(), method: body?.method ?? req.method ?? "?", authorization };
  if (body?.method === "tools/call") Object.assign(entry, { tool: body.params?.name, arguments: body.params?.arguments });
  inst.log.push(entry);
  if (inst.token && authorization !== `Bearer ${inst.token}`) return sendJson(res, 401, { error: "unauthorized" }, { "www-authenticate": "Bearer" });
  if (req.method !== "POST") return sendJson(res, 405, { error: "method not allowed" }, { allow: "POST" });
  const server = mcpServerFor(inst, authorization);
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  res.on("close", () => {
    entry.ms = performance.now() - started;
    void transport.close();
    void server.close();
  });
  await server.connect(transport);
  await transport.handleRequest(req, res, body);
}

async function startInstance(id: string, token: string | null): Promise<Instance> {
  const inst = { id, token, extra: new Set<string>(), removed: new Set<string>(), log: [] } as unknown as Instance;
  inst.server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (!req.url?.startsWith("/mcp")) return sendJson(res, 404, { error: "not an MCP endpoint" });
      handleMcp(inst, req, res, Buffer.concat(chunks).toString("utf8")).catch((e) => {
        if (!res.headersSent) sendJson(res, 500, { error: String(e) });
      });
    });
  });
  await new Promise<void>((resolve) => inst.server.listen(0, "127.0.0.1", resolve));
  inst.url = `http://127.0.0.1:${(inst.server.address() as AddressInfo).port}`;
  return inst;
}

const stop = (inst: Instance) =>
  new Promise<void>((resolve) => {
    inst.server.closeAllConnections();
    inst.server.close(() => resolve());
  });

export async function startMcp(): Promise<Fake> {
  const instances = new Map<string, Instance>();
  let seq = 0;
  const control = await serve(async (req, body, res) => {
    const parts = (req.url ?? "").split("?")[0].split("/").filter(Boolean);
    if (parts[0] !== "servers") return sendJson(res, 404, { error: "not found" });
    if (parts.length === 1 && req.method === "POST") {
      const { token } = (body ? JSON.parse(body) : {}) as { token?: string };
      const inst = await startInstance(`m${++seq}`, token ?? null);
      instances.set(inst.id, inst);
      return sendJson(res, 201, { id: inst.id, url: inst.url });
    }
    const inst = instances.get(parts[1] ?? "");
    if (!inst) return sendJson(res, 404, { error: "no such server" });
    if (parts[2] === "log" && req.method === "GET") return sendJson(res, 200, { entries: inst.log });
    if (parts[2] === "stop" && req.method === "POST") {
      await stop(inst);
      return sendJson(res, 200, { stopped: inst.id });
    }
    if (parts[2] === "tools" && req.method === "POST") {
      const { name } = JSON.parse(body) as { name: string };
      inst.extra.add(name);
      inst.removed.delete(name);
      return sendJson(res, 200, { added: name });
    }
    if (parts[2] === "tools" && parts[3] && req.method === "DELETE") {
      inst.removed.add(parts[3]);
      inst.extra.delete(parts[3]);
      return sendJson(res, 200, { removed: parts[3] });
    }
    return sendJson(res, 404, { error: "not found" });
  });
  return {
    port: control.port,
    close: async () => {
      await Promise.all([...instances.values()].map((i) => (i.server.listening ? stop(i) : undefined)));
      await control.close();
    },
  };
}
