/** The server: readiness (D1, the LLM check) with the fix when something fails, tool states, and MCP servers when the API has them. */
import { Badge, Failure, Loading, useData } from "../components/ui";
import { ApiError, authHeaders, get } from "../lib/api";
import { relative } from "../lib/format";
import type { McpServer, Ready, ToolInfo } from "../lib/types";

const FIX: Record<string, string> = {
  d1: "Run the migrations: npm run db:migrate:local (or npm run deploy, which migrates the remote database).",
  llm: "Set LLM_PROVIDER and the provider's key and model (.dev.vars locally, `wrangler secret put` deployed); the README's Configuration lists them.",
};

async function ready(signal: AbortSignal): Promise<Ready> {
  // 503 is an answer here (something is not ready), not a failure of the request.
  const res = await fetch("/health/ready", { headers: authHeaders(), signal });
  return (await res.json()) as Ready;
}

/** GET /mcp-servers where it exists; null while the API has no such route (404). */
async function mcpServers(signal: AbortSignal): Promise<McpServer[] | null> {
  try {
    return (await get<{ items: McpServer[] }>("/mcp-servers", signal)).items;
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return null;
    throw e;
  }
}

export function Server() {
  const r = useData(ready, []);
  const tools = useData((s) => get<{ items: ToolInfo[] }>("/tools", s), []);
  const mcp = useData(mcpServers, []);
  return (
    <section>
      <h1>Server</h1>
      <h2>Readiness</h2>
      {r.error !== undefined && <Failure error={r.error} />}
      {!r.data ? (
        <Loading />
      ) : (
        <>
          <p>
            Version {r.data.version}: {r.data.ok ? "ready" : "not ready"}
          </p>
          <ul class="checks-list">
            {Object.entries(r.data.checks).map(([name, c]) => (
              <li key={name}>
                <span class={c.ok ? "ok" : "bad"} aria-hidden="true">
                  {c.ok ? "✓" : "✗"}
                </span>{" "}
                <strong>{name}</strong> {c.ok ? "ok" : "failing"}
                {c.provider && ` · ${c.provider} ${c.model ?? ""}`}
                {c.detail && <p class="small">{c.detail}</p>}
                {!c.ok && FIX[name] && <p class="small">Fix: {FIX[name]}</p>}
              </li>
            ))}
          </ul>
        </>
      )}
      <h2>Tools</h2>
      {tools.error !== undefined && <Failure error={tools.error} />}
      {tools.data && (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Tool</th>
                <th scope="col">State</th>
                <th scope="col">What it does</th>
              </tr>
            </thead>
            <tbody>
              {tools.data.items.map((t) => (
                <tr key={t.name}>
                  <td>
                    <code>{t.name}</code>
                  </td>
                  <td>
                    <span class={`badge t-${t.state}`}>{t.state.replace("_", " ")}</span>
                    {t.reason && <p class="small">{t.reason}</p>}
                  </td>
                  <td class="small">{t.description}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {mcp.data !== null && (
        <>
          <h2>MCP servers</h2>
          {mcp.error !== undefined && <Failure error={mcp.error} />}
          {mcp.data && !mcp.data.length && <p class="muted">None registered.</p>}
          <ul class="mcp">
            {mcp.data?.map((m) => (
              <li key={m.name} class="card">
                <strong>{m.name}</strong> <Badge status={m.status} /> <code class="small">{m.url}</code>
                {m.lastError && <p class="error small">{m.lastError}</p>}
                {m.serverInfo && (
                  <span class="small muted">
                    {" "}
                    {m.serverInfo.name} {m.serverInfo.version}
                  </span>
                )}
                <p class="small">Tools: {m.tools.map((t) => t.name).join(", ") || "none"}</p>
                <p class="small muted">
                  Last listed {m.refreshedAt ? relative(m.refreshedAt) : "never"}, checked {relative(m.checkedAt)}
                </p>
                {m.headerNames?.length ? <p class="small muted">Headers: {m.headerNames.join(", ")}</p> : null}
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
