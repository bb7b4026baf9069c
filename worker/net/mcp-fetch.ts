/**
 * The `fetch` the MCP client's transport is given: every request it makes goes through guardedFetch, so
 * an MCP server is reached under the same policy as our tools (http(s) only, private addresses only with
 * ALLOW_PRIVATE_NETWORK, the goal's domain lists, a byte cap and a timeout).
 *
 * guardedFetch reads a whole body before answering. That suits Streamable HTTP, where each POST's answer
 * (JSON, or an SSE stream the server closes once the request is answered) ends by itself. It does not
 * suit the optional standalone GET stream a session may open for server-initiated messages: that one
 * stays open for the whole session, would hold one of a Worker invocation's 6 simultaneous connections
 * for the whole run, and a background run has nobody to answer a server's requests anyway. So that GET
 * is answered here with the 405 the spec gives servers that offer no such stream, and never sent
 * (tool-list changes are picked up by refreshes instead). For the same reason the legacy HTTP+SSE
 * transport (one long-lived GET carrying every answer) is not offered.
 */
import { type EgressPolicy, guardedFetch } from "./guarded-fetch";

/** An MCP answer larger than this is cut, and the client reports it as a broken message. */
const MAX_MCP_RESPONSE_BYTES = 4 * 1024 * 1024;

export type McpFetch = (url: string | URL, init?: RequestInit) => Promise<Response>;

const headersOf = (h: HeadersInit | undefined): Record<string, string> => Object.fromEntries(new Headers(h).entries());

/** A fetch for the MCP transport, through the egress guard under `policy`, each request cut off after `timeoutMs`. */
export function mcpFetch(policy: EgressPolicy, timeoutMs: number): McpFetch {
  return async (url, init = {}) => {
    const method = (init.method ?? "GET").toUpperCase();
    if (method === "GET") return new Response(null, { status: 405, statusText: "Method Not Allowed (no standalone stream in a background run)" });
    if (init.body !== undefined && init.body !== null && typeof init.body !== "string") throw new Error("the MCP transport sent a body that is not text"); // JSON-RPC bodies are strings
    const res = await guardedFetch(
      url,
      {
        method,
        headers: headersOf(init.headers),
        body: init.body ?? undefined,
        signal: init.signal ?? undefined,
        timeoutMs,
        maxBytes: MAX_MCP_RESPONSE_BYTES,
        // The transport follows same-origin redirects itself and asks again: each hop comes back through here.
        maxRedirects: 0,
      },
      policy,
    );
    if (res.truncated) throw new Error(`the MCP server's answer is over ${MAX_MCP_RESPONSE_BYTES / 1024 / 1024} MB`);
    // 204/205/304 cannot carry a body in a Response.
    const body = [204, 205, 304].includes(res.status) ? null : res.body;
    return new Response(body, { status: res.status, headers: res.headers });
  };
}
