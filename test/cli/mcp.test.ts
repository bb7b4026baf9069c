/** `async-agent mcp …` as a child process against the running Worker, with real MCP servers (test/fakes/mcp.ts) on 127.0.0.1. */
import { afterAll, describe, expect, inject, it } from "vitest";
import { TEST_API_TOKEN } from "../bindings";
import { type CliResult, hasEscapes, removeTempDirs, runCli, tempHome } from "./run-cli";

const home = tempHome();
const env = { ASYNC_AGENT_URL: inject("cliWorkerUrl"), ASYNC_AGENT_TOKEN: TEST_API_TOKEN };
const cli = (...args: string[]) => runCli(args, { home, env });
const control = `http://127.0.0.1:${inject("fakePorts").mcp}`;
afterAll(removeTempDirs);

function ok(r: CliResult): CliResult {
  if (r.code !== 0) throw new Error(`exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  expect(hasEscapes(r.stdout + r.stderr)).toBe(false);
  return r;
}

async function mcpServer(token: string): Promise<{ id: string; url: string }> {
  const res = await fetch(`${control}/servers`, { method: "POST", body: JSON.stringify({ token }) });
  const s = (await res.json()) as { id: string; url: string };
  return { id: s.id, url: `${s.url}/mcp` };
}

describe("async-agent mcp", () => {
  it("adds a server with a bearer header, lists, shows and refreshes it without ever printing the header's value, then removes it", async () => {
    const token = `cli-${crypto.randomUUID()}`;
    const srv = await mcpServer(token);
    const name = `kb-${Date.now().toString(36)}`;

    const wrong = await cli("mcp", "add", name, srv.url, "--header", "Authorization: Bearer nope-nope");
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/did not answer as an MCP server: the server refused the request \(HTTP 401\)/);

    const added = ok(await cli("mcp", "add", name, srv.url, "--header", `Authorization: Bearer ${token}`));
    expect(added.stdout).toContain(`registered MCP server ${name} with`);
    expect(added.stdout).toContain(`${name}__lookup`);

    const listed = JSON.parse(ok(await cli("mcp", "list", "--json")).stdout);
    expect(listed.items.find((s: { name: string }) => s.name === name)).toMatchObject({ url: srv.url, headerNames: ["Authorization"], status: "ready" });
    const shown = ok(await cli("mcp", "show", name));
    expect(shown.stdout).toMatch(/headers\s+Authorization \(values stored encrypted, never shown\)/);
    expect(shown.stdout).toContain(`${name}__whoami`);

    await fetch(`${control}/servers/${srv.id}/tools`, { method: "POST", body: JSON.stringify({ name: "summarize" }) });
    const refreshed = ok(await cli("mcp", "refresh", name));
    expect(refreshed.stdout).toContain(`${name}__summarize`);
    const tools = JSON.parse(ok(await cli("tools", "list", "--json")).stdout);
    expect(tools.items.find((t: { name: string }) => t.name === `${name}__summarize`)).toMatchObject({ source: `mcp:${name}` });

    // A goal opts in with --mcp; an unregistered name is refused by the server, naming the field.
    const goal = JSON.parse(ok(await cli("goal", "create", "--objective", "Use the KB", "--mcp", name, "--tools", `finish,${name}__*`, "--json")).stdout);
    expect(goal.params).toMatchObject({ mcpServers: [name], allowedTools: ["finish", `${name}__*`] });
    const unknown = await cli("goal", "create", "--objective", "Use the KB", "--mcp", "nope");
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('params.mcpServers[0]: unknown MCP server "nope"');
    // --mcp alone is an update (an empty list clears it).
    const cleared = JSON.parse(ok(await cli("goal", "update", goal.id, "--mcp", "", "--json")).stdout);
    expect(cleared.params.mcpServers).toBeUndefined();

    for (const r of [wrong, added, shown, refreshed]) expect(r.stdout + r.stderr).not.toContain(token);
    expect(JSON.stringify(listed)).not.toContain(token);

    ok(await cli("mcp", "remove", name));
    const gone = await cli("mcp", "show", name);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain(`MCP server ${name} not found`);
  });

  it("refuses a malformed --header before sending anything (exit 2)", async () => {
    const r = await cli("mcp", "add", "x", "http://127.0.0.1:1/mcp", "--header", "Authorization Bearer abc");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`expected "Name: value"`);
  });
});
