/**
 * Tool names and the patterns goals list them by (`params.allowedTools`, `params.requireApproval`). A
 * built-in tool is `web_search`; an MCP server's tool reaches the model as `<server>__<tool>`, and
 * `<server>__*` stands for every tool of that server. Pure functions, no imports: the Worker, the CLI
 * and the approval check all use these.
 */

/** The separator between an MCP server's name and its tool's. Built-in tool names never contain it. */
export const MCP_SEPARATOR = "__";
/** A registered MCP server's name: short, lower case, no `_` (so the first `__` always ends it). */
export const MCP_SERVER_NAME = /^[a-z0-9-]{1,32}$/;
/** The providers' function-name rule (OpenAI, and the OpenAI-compatible APIs): `[a-zA-Z0-9_-]`, 1–64 characters. */
export const MAX_TOOL_NAME = 64;
const FUNCTION_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

/** A name or pattern goals may list: `web_search`, `docs__lookup`, `docs__*`. */
export const TOOL_PATTERN = /^(?=.{1,64}$)(?:[a-z][a-z0-9_]*|[a-z0-9-]{1,32}__(?:\*|[A-Za-z0-9_-]+))$/;

/** The MCP server a tool name or pattern belongs to (`docs` for `docs__lookup` and `docs__*`), or null for a built-in tool. */
export function mcpServerOf(name: string): string | null {
  const at = name.indexOf(MCP_SEPARATOR);
  if (at <= 0) return null;
  const server = name.slice(0, at);
  return MCP_SERVER_NAME.test(server) ? server : null;
}

/**
 * Whether `pattern` (an entry of allowedTools or requireApproval) covers the tool `name`: the same name,
 * or `<server>__*` and any tool of that server. This is the one matcher for both lists.
 */
export function toolNameMatches(pattern: string, name: string): boolean {
  if (pattern === name) return true;
  if (!pattern.endsWith(`${MCP_SEPARATOR}*`)) return false;
  const server = mcpServerOf(pattern);
  return server !== null && mcpServerOf(name) === server;
}

/** Whether any of `patterns` covers `name`. */
export const anyToolNameMatches = (patterns: readonly string[], name: string) => patterns.some((p) => toolNameMatches(p, name));

/** FNV-1a, 32 bits, as 8 hex digits: a short, stable tag for a name that had to be shortened. */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, "0");
}

/**
 * The name the model sees for `tool` of `server`: `<server>__<tool>`, every character the providers refuse
 * replaced by `_`. A name over 64 characters keeps its first 55 and ends in `_` and 8 hex digits of a hash of
 * the tool's own name, so it stays unique and stable across refreshes; `salt` (a collision) changes the hash.
 */
export function mcpToolName(server: string, tool: string, salt = ""): string {
  const full = `${server}${MCP_SEPARATOR}${tool.replace(/[^a-zA-Z0-9_-]/g, "_")}`;
  if (!salt && FUNCTION_NAME.test(full)) return full;
  return `${full.slice(0, MAX_TOOL_NAME - 9)}_${fnv1a(`${tool}${salt}`)}`;
}
