/**
 * /api/v1/mcp-servers: the registry of remote MCP servers whose tools goals may use (params.mcpServers).
 * A server is stored only once it answered: registering (or changing the URL or headers) connects,
 * initialises and lists its tools first, and a failure is a 502 saying what failed, with nothing written.
 * Header values are sealed with MCP_SECRETS_KEY and never leave the Worker again: answers show their names.
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { Db } from "../../db/client";
import { deleteMcpServer, getMcpServer, insertMcpServer, listMcpServers, updateMcpServer } from "../../db/mcp-servers";
import { iso } from "../../lib/iso";
import type { McpServerRow } from "../../db/schema";
import type { Env } from "../../lib/env";
import { redactSecrets } from "../../lib/redact";
import { seal, secretsKeyProblem } from "../../lib/secret-box";
import { checkUrl, EgressError, egressPolicy } from "../../net/guarded-fetch";
import { mcpErrorText } from "../../tools/mcp-client";
import { headersOf, listServerTools, refreshServer, secretValues } from "../../tools/mcp-tools";
import { errorResponses } from "../common";
import { ApiError, invalidFields, notFound } from "../errors";
import { jsonContent, newRouter } from "../router";
import { CreateMcpServer, ErrorBody, McpServerInfo, UpdateMcpServer } from "../schemas";
import { McpServerName } from "../../domain/schemas";

const tags = ["mcp-servers"];
const NameParam = z.object({ name: McpServerName });
const body = <T>(schema: T) => ({ body: { content: { "application/json": { schema } }, required: true } });
const failed = {
  502: jsonContent(ErrorBody, "The server did not answer as an MCP server (unreachable, refused the headers, not MCP): the message says which"),
  503: jsonContent(ErrorBody, "Headers were given but MCP_SECRETS_KEY is not set"),
};

/** The server as the API shows it: header names, never values. */
export function presentMcpServer(r: McpServerRow) {
  const { headersSealed: _sealed, refreshedAt, checkedAt, createdAt, updatedAt, ...rest } = r;
  return {
    ...rest,
    refreshedAt: refreshedAt === null ? null : iso(refreshedAt),
    checkedAt: iso(checkedAt),
    createdAt: iso(createdAt),
    updatedAt: iso(updatedAt),
  };
}

async function serverOr404(db: Db, name: string): Promise<McpServerRow> {
  const row = await getMcpServer(db, name);
  if (!row) throw notFound("MCP server", name);
  return row;
}

/** The URL under the deployment's egress policy (private addresses only with ALLOW_PRIVATE_NETWORK): a 400 naming `url` if refused. */
function checkServerUrl(env: Env, url: string): void {
  try {
    checkUrl(url, egressPolicy(env));
  } catch (e) {
    if (!(e instanceof EgressError)) throw e;
    throw invalidFields([{ path: "url", message: `${e.message}; ALLOW_PRIVATE_NETWORK=true allows private addresses` }]);
  }
}

/** The headers sealed for row `name`, or null when there are none; a 503 naming MCP_SECRETS_KEY when it is not usable. */
async function sealHeaders(env: Env, name: string, headers: Record<string, string> | null | undefined): Promise<string | null> {
  if (!headers || !Object.keys(headers).length) return null;
  const problem = secretsKeyProblem(env);
  if (problem)
    throw new ApiError(
      "not_configured",
      `headers are stored encrypted and ${problem}: set it (npx wrangler secret put MCP_SECRETS_KEY), or register without headers`,
    );
  return seal(env, `mcp_servers:${name}`, JSON.stringify(headers));
}

/** The row's header values in clear; a 503 saying why when they cannot be opened (key missing or changed). */
async function storedHeaders(env: Env, row: McpServerRow): Promise<Record<string, string>> {
  try {
    return await headersOf(env, row);
  } catch (e) {
    throw new ApiError("not_configured", `the stored headers of "${row.name}" cannot be read: ${e instanceof Error ? e.message : String(e)}; send new headers`);
  }
}

/** Connects, initialises and lists the tools; a 502 saying what failed (header values redacted) otherwise. */
async function listOr502(env: Env, name: string, url: string, headers: Record<string, string>) {
  try {
    return await listServerTools({ name, url, headers }, egressPolicy(env));
  } catch (e) {
    const reason = redactSecrets(env, mcpErrorText(e), secretValues(headers));
    throw new ApiError("bad_gateway", `MCP server "${name}" at ${url} did not answer as an MCP server: ${reason}`, { reason });
  }
}

export const mcpServers = newRouter()
  .openapi(
    createRoute({
      method: "post",
      path: "/",
      tags,
      summary: "Register an MCP server: connects, lists its tools and stores them (its header values encrypted)",
      request: body(CreateMcpServer),
      responses: {
        201: jsonContent(McpServerInfo, "The registered server and its tools"),
        ...errorResponses,
        409: jsonContent(ErrorBody, "The name is taken"),
        ...failed,
      },
    }),
    async (c) => {
      const { name, url, headers = {} } = c.req.valid("json");
      checkServerUrl(c.env, url);
      const headersSealed = await sealHeaders(c.env, name, headers);
      const taken = () => new ApiError("conflict", `an MCP server named "${name}" is registered already (PATCH changes it)`);
      if (await getMcpServer(c.var.db, name)) throw taken();
      const { tools, serverInfo } = await listOr502(c.env, name, url, headers);
      const now = Date.now();
      const row = {
        name,
        url,
        headerNames: Object.keys(headers),
        headersSealed,
        status: "ready" as const,
        lastError: null,
        tools,
        serverInfo,
        refreshedAt: now,
        checkedAt: now,
      };
      if (!(await insertMcpServer(c.var.db, row))) throw taken();
      return c.json(presentMcpServer(await serverOr404(c.var.db, name)), 201);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/",
      tags,
      summary: "List the registered MCP servers: status, last error, tools, header names",
      responses: { 200: jsonContent(z.object({ items: z.array(McpServerInfo) }), "Every server"), ...errorResponses },
    }),
    async (c) => c.json({ items: (await listMcpServers(c.var.db)).map(presentMcpServer) }, 200),
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/{name}",
      tags,
      summary: "One MCP server and its tools",
      request: { params: NameParam },
      responses: { 200: jsonContent(McpServerInfo, "The server"), ...errorResponses },
    }),
    async (c) => c.json(presentMcpServer(await serverOr404(c.var.db, c.req.valid("param").name)), 200),
  )
  .openapi(
    createRoute({
      method: "patch",
      path: "/{name}",
      tags,
      summary: "Change the URL and/or the headers: the new ones must answer (their listing is stored), else nothing changes",
      request: { params: NameParam, ...body(UpdateMcpServer) },
      responses: { 200: jsonContent(McpServerInfo, "The changed server"), ...errorResponses, ...failed },
    }),
    async (c) => {
      const row = await serverOr404(c.var.db, c.req.valid("param").name);
      const patch = c.req.valid("json");
      const url = patch.url ?? row.url;
      checkServerUrl(c.env, url);
      // Stored header values (bearer tokens) were given for one server: never sent to another origin unasked.
      if (patch.headers === undefined && row.headerNames.length && new URL(url).origin !== new URL(row.url).origin)
        throw new ApiError("validation_error", "headers: a new origin needs its headers again (the stored ones are not sent to another server; {} for none)");
      const headers = patch.headers === undefined ? await storedHeaders(c.env, row) : (patch.headers ?? {});
      const headersSealed = patch.headers === undefined ? row.headersSealed : await sealHeaders(c.env, row.name, headers);
      const { tools, serverInfo } = await listOr502(c.env, row.name, url, headers);
      const updated = await updateMcpServer(c.var.db, row.name, { url, headerNames: Object.keys(headers), headersSealed, tools, serverInfo });
      if (!updated) throw notFound("MCP server", row.name);
      return c.json(presentMcpServer(updated), 200);
    },
  )
  .openapi(
    createRoute({
      method: "delete",
      path: "/{name}",
      tags,
      summary: "Remove an MCP server: goals that name it no longer get its tools",
      request: { params: NameParam },
      responses: { 204: { description: "Removed" }, ...errorResponses },
    }),
    async (c) => {
      const name = c.req.valid("param").name;
      if (!(await deleteMcpServer(c.var.db, name))) throw notFound("MCP server", name);
      return c.body(null, 204);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/{name}/refresh",
      tags,
      summary: "List the server's tools again now (runs also do it when the listing is over 10 minutes old)",
      request: { params: NameParam },
      responses: { 200: jsonContent(McpServerInfo, "The server with its new listing"), ...errorResponses, 502: failed[502] },
    }),
    async (c) => {
      const name = c.req.valid("param").name;
      const row = await refreshServer(c.var.db, c.env, await serverOr404(c.var.db, name));
      if (!row) throw notFound("MCP server", name); // removed while it was being listed
      if (row.status === "error")
        throw new ApiError("bad_gateway", `MCP server "${row.name}" did not answer: ${row.lastError}; its tools from the last listing stay`, {
          reason: row.lastError,
        });
      return c.json(presentMcpServer(row), 200);
    },
  );
