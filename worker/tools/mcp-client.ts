/**
 * One connection to a remote MCP server: connect and initialise (Streamable HTTP), list its tools, call
 * one. Everything goes over net/mcp-fetch.ts, i.e. through the egress guard.
 *
 * Why the MCP client package directly and not the `agents` SDK's MCPClientManager / addMcpServer: the
 * manager is built for an Agent that a person talks to. It stores each server's options, transport headers
 * included, in the Durable Object's own SQLite in clear, restores every connection whenever the object
 * wakes, and brings in an OAuth flow that ends in a browser callback. Our registry is one per deployment
 * (D1, headers sealed with MCP_SECRETS_KEY), registration happens in the Worker, not in an agent, and a
 * background run wants a connection only while it runs, reached through our guarded fetch. So we use
 * `@modelcontextprotocol/client` at the exact version the SDK pins (2.4.0): the SDK already bundles it, so
 * this costs the Worker bundle next to nothing. OAuth-protected servers are not supported (headers only).
 */
import { Client, StreamableHTTPClientTransport, type Tool as McpTool, type CallToolResult } from "@modelcontextprotocol/client";
import { CfWorkerJsonSchemaValidator } from "@modelcontextprotocol/client/validators/cf-worker";
import type { McpToolRecord } from "../db/schema";
import { mcpToolName } from "../domain/tool-names";
import { VERSION } from "../lib/version";
import { mcpFetch } from "../net/mcp-fetch";
import { EgressError, type EgressPolicy } from "../net/guarded-fetch";

/** Connecting and initialising, and each listing page: a server that takes longer is reported as not answering. */
export const MCP_CONNECT_TIMEOUT_MS = 15_000;
/** A server's tools beyond this many pages of tools/list are not read (a server that pages forever). */
const MAX_LIST_PAGES = 20;
/** The most tools one server may bring: each one costs prompt tokens on every model call. */
export const MAX_TOOLS_PER_SERVER = 100;
/** A tool's description is cut to this many characters. */
const MAX_DESCRIPTION = 2000;

export type McpTarget = { name: string; url: string; headers: Record<string, string> };

/**
 * Ajv (the client's default validator) compiles schemas with `new Function`, which Workers forbid; the
 * @cfworker/json-schema one interprets them. Shared: it holds no state per server.
 */
export const jsonSchemas = new CfWorkerJsonSchemaValidator();

/** The reason an MCP request failed, in words for the API and the model (never the header values: callers redact). */
export function mcpErrorText(e: unknown): string {
  if (e instanceof EgressError) return e.message;
  const err = e as { name?: string; message?: string; code?: unknown; status?: unknown; data?: { status?: unknown } };
  const status = typeof err?.status === "number" ? err.status : typeof err?.data?.status === "number" ? err.data.status : null;
  if (status === 401 || status === 403)
    return `the server refused the request (HTTP ${status}): check the headers it was registered with (${err.message ?? ""})`.trim();
  if (status === 404 || status === 405) return `no MCP endpoint at this URL (HTTP ${status})`;
  if (typeof err?.code === "number" && err.code < 0) return `MCP error ${err.code}: ${err.message}`;
  return err?.message ?? String(e);
}

export class McpConnection {
  private constructor(
    readonly target: McpTarget,
    private readonly client: Client,
  ) {}

  /** Connects and initialises; throws (see mcpErrorText) when the URL does not answer as an MCP server. */
  static async open(target: McpTarget, policy: EgressPolicy, signal?: AbortSignal): Promise<McpConnection> {
    const client = new Client({ name: "async-agent", version: VERSION }, { jsonSchemaValidator: jsonSchemas });
    const transport = new StreamableHTTPClientTransport(new URL(target.url), {
      fetch: mcpFetch(policy, MCP_CONNECT_TIMEOUT_MS * 4),
      requestInit: { headers: target.headers },
    });
    await client.connect(transport, { signal, timeout: MCP_CONNECT_TIMEOUT_MS });
    return new McpConnection(target, client);
  }

  /** What the server says it is. */
  serverInfo(): { name: string; version: string } | null {
    const v = this.client.getServerVersion();
    return v ? { name: v.name, version: v.version } : null;
  }

  /** Every tool the server offers (all pages), as the model will see them. */
  async listTools(signal?: AbortSignal): Promise<McpToolRecord[]> {
    const tools: McpTool[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < MAX_LIST_PAGES; page++) {
      const res = await this.client.listTools(cursor ? { cursor } : undefined, { signal, timeout: MCP_CONNECT_TIMEOUT_MS, cacheMode: "bypass" });
      tools.push(...res.tools);
      cursor = res.nextCursor;
      if (!cursor || tools.length >= MAX_TOOLS_PER_SERVER) break;
    }
    return toolRecords(this.target.name, tools.slice(0, MAX_TOOLS_PER_SERVER));
  }

  /** Calls the server's tool `tool` (its own name); a protocol error throws, a tool's failure is `isError` in the result. */
  async callTool(tool: string, args: Record<string, unknown>, signal: AbortSignal, timeoutMs: number): Promise<CallToolResult> {
    return (await this.client.callTool({ name: tool, arguments: args }, { signal, timeout: timeoutMs })) as CallToolResult;
  }

  /** Ends the session (a stateful server gets its DELETE); never throws. */
  async close(): Promise<void> {
    await this.client.close().catch(() => {});
  }
}

/**
 * The records stored for a listing: each tool named `<server>__<tool>` within the providers' rules (see
 * mcpToolName; a name two tools would share gets a hash suffix), with its description and input schema.
 */
export function toolRecords(server: string, tools: McpTool[]): McpToolRecord[] {
  const taken = new Set<string>();
  return tools.map((t) => {
    let name = mcpToolName(server, t.name);
    for (let n = 1; taken.has(name); n++) name = mcpToolName(server, t.name, String(n));
    taken.add(name);
    // Every description is sent with every model call: a server's essay is cut.
    const description = [t.title && t.title !== t.name ? t.title : null, t.description].filter(Boolean).join(": ").slice(0, MAX_DESCRIPTION);
    return { name, tool: t.name, description: description || `Tool ${t.name} of MCP server ${server}`, inputSchema: t.inputSchema as Record<string, unknown> };
  });
}
