/** `async-agent mcp add|list|show|refresh|remove`: the remote MCP servers whose tools goals may use. */
import type { Command } from "commander";
import type { McpServerInfo } from "../../../worker/api/schemas";
import { contextFor, type Ctx, examples } from "../context";
import { UsageError } from "../errors";
import { oneLine, relativeTime } from "../output";

/** `--header 'Authorization: Bearer …'`, repeatable: "Name: value" (the first colon separates them). */
export function parseHeaders(raw: string[]): Record<string, string> | undefined {
  if (!raw.length) return undefined;
  const headers: Record<string, string> = {};
  for (const h of raw) {
    const at = h.indexOf(":");
    const name = at > 0 ? h.slice(0, at).trim() : "";
    const value = at > 0 ? h.slice(at + 1).trim() : "";
    if (!name || !value) throw new UsageError(`--header "${h.split(":")[0]}…": expected "Name: value", e.g. --header 'Authorization: Bearer <token>'`);
    headers[name] = value;
  }
  return headers;
}

const collect = (value: string, previous: string[]) => [...previous, value];

function statusLabel(p: Ctx["p"], s: McpServerInfo["status"]): string {
  return s === "ready" ? p.c.green("ready") : p.c.red("error");
}

function serverFields(p: Ctx["p"], s: McpServerInfo): void {
  p.fields([
    ["name", s.name],
    ["url", s.url],
    ["status", statusLabel(p, s.status)],
    ["last error", s.lastError],
    ["server", s.serverInfo ? `${s.serverInfo.name} ${s.serverInfo.version}` : null],
    ["headers", s.headerNames.length ? `${s.headerNames.join(", ")} (values stored encrypted, never shown)` : "none"],
    ["tools listed", s.refreshedAt ? `${s.refreshedAt} (${relativeTime(s.refreshedAt)})` : "never"],
  ]);
}

function toolTable(p: Ctx["p"], s: McpServerInfo): void {
  if (!s.tools.length) {
    p.note("the server offers no tools");
    return;
  }
  p.line();
  p.table(
    ["TOOL (as agents see it)", "DESCRIPTION"],
    s.tools.map((t) => [t.name, oneLine(t.description)]),
  );
}

export function registerMcp(program: Command): void {
  const mcp = program.command("mcp").description("remote MCP servers as tool sources (goals opt in with params.mcpServers)");
  examples(mcp, ["async-agent mcp add docs https://mcp.example.com/mcp --header 'Authorization: Bearer <token>'", "async-agent mcp list"]);

  examples(
    mcp
      .command("add")
      .argument("<name>", "1-32 characters a-z, 0-9, -: goals name it, its tools become <name>__<tool>")
      .argument("<url>", "the server's Streamable HTTP endpoint")
      .option("--header <header>", "'Name: value' sent with every request (repeatable); stored encrypted", collect, [])
      .description("register a server: the Worker connects, lists its tools and stores them"),
    ["async-agent mcp add docs https://mcp.example.com/mcp", "async-agent mcp add kb https://kb.example.com/mcp --header 'Authorization: Bearer <token>'"],
  ).action(async (name: string, url: string, f: { header: string[] }, cmd: Command) => {
    const headers = parseHeaders(f.header);
    const { p, client } = await contextFor(cmd);
    const s = await client.addMcpServer({ name, url, headers });
    p.result(s, (v) => {
      p.success(`registered MCP server ${p.c.bold(v.name)} with ${v.tools.length} tool${v.tools.length === 1 ? "" : "s"}`);
      toolTable(p, v);
      p.note(`Goals use it with --mcp ${v.name} (goal create/update), i.e. params.mcpServers`);
    });
  });

  examples(mcp.command("list").description("every registered server: status, tools, URL"), ["async-agent mcp list", "async-agent mcp list --json"]).action(
    async (_f: unknown, cmd: Command) => {
      const { p, client } = await contextFor(cmd);
      const res = await client.listMcpServers();
      p.result(res, ({ items }) => {
        if (!items.length) {
          p.note("no MCP servers registered: async-agent mcp add <name> <url>");
          return;
        }
        p.table(
          ["NAME", "STATUS", "TOOLS", "URL", "DETAILS"],
          items.map((s) => [s.name, statusLabel(p, s.status), String(s.tools.length), s.url, oneLine(s.lastError ?? "")]),
        );
      });
    },
  );

  examples(mcp.command("show").argument("<name>", "server name").description("one server and the tools it offers"), ["async-agent mcp show docs"]).action(
    async (name: string, _f: unknown, cmd: Command) => {
      const { p, client } = await contextFor(cmd);
      const s = await client.getMcpServer(name);
      p.result(s, (v) => {
        serverFields(p, v);
        toolTable(p, v);
      });
    },
  );

  examples(mcp.command("refresh").argument("<name>", "server name").description("list the server's tools again now"), ["async-agent mcp refresh docs"]).action(
    async (name: string, _f: unknown, cmd: Command) => {
      const { p, client } = await contextFor(cmd);
      const s = await client.refreshMcpServer(name);
      p.result(s, (v) => {
        p.success(`refreshed ${p.c.bold(v.name)}: ${v.tools.length} tool${v.tools.length === 1 ? "" : "s"}`);
        toolTable(p, v);
      });
    },
  );

  examples(mcp.command("remove").argument("<name>", "server name").description("remove a server: goals that name it no longer get its tools"), [
    "async-agent mcp remove docs",
  ]).action(async (name: string, _f: unknown, cmd: Command) => {
    const { p, client } = await contextFor(cmd);
    await client.removeMcpServer(name);
    p.result({ name, removed: true }, () => p.success(`removed MCP server ${p.c.bold(name)}`));
  });
}
