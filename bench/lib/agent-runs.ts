/**
 * Shared by bench:agent and bench:parallel: the fake LLM in this process, the Worker under `wrangler dev`
 * pointed at it, and helpers to script, start and await runs through the public API.
 */
import { startLlm, FAKE_OPENAI_KEY, type FakeScript } from "../../test/fakes/llm.ts";
import { startDevServer, type DevServer } from "./dev-server.ts";

export const TOKEN = "bench-token-0123456789";

export type Bench = { dev: DevServer; llmUrl: string; stop: () => Promise<void> };

/** `vars`: more bindings for the Worker (bench:mcp adds MCP_SECRETS_KEY). */
export async function startBench(vars: Record<string, string> = {}): Promise<Bench> {
  const llm = await startLlm();
  const llmUrl = `http://127.0.0.1:${llm.port}`;
  const dev = await startDevServer(
    {
      API_TOKEN: TOKEN,
      LLM_PROVIDER: "openai",
      OPENAI_API_KEY: FAKE_OPENAI_KEY,
      OPENAI_MODEL: "gpt-4.1-mini",
      OPENAI_BASE_URL: `${llmUrl}/v1`,
      ALLOW_PRIVATE_NETWORK: "true",
      ...vars,
      // "log": the Worker's console.log lines (run.timing) reach dev.logs(); a profile wants readable names.
    },
    { logLevel: "log", args: process.env.BENCH_PROFILE ? ["--minify=false"] : [] },
  );
  return { dev, llmUrl, stop: async () => (await dev.stop(), await llm.close()) };
}

export async function api<T = any>(b: Bench, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${b.dev.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json as T;
}

export async function setLatency(b: Bench, latencyMs: number) {
  await fetch(`${b.llmUrl}/__config`, { method: "POST", body: JSON.stringify({ latencyMs }) });
}

let seq = 0;
/** Registers a script and creates a goal that runs it; returns the goal id and the script key. */
export async function scriptedGoal(b: Bench, script: FakeScript, params: Record<string, unknown> = {}) {
  const key = `bench-${process.pid}-${++seq}`;
  await fetch(`${b.llmUrl}/__scripts`, { method: "POST", body: JSON.stringify({ key, script }) });
  const goal = await api<{ id: string }>(b, "POST", "/goals", { objective: `Benchmark goal [script:${key}]`, params });
  return { goalId: goal.id, key };
}

export type RunView = { id: string; status: string; startedAt: string | null; endedAt: string | null; stepsExecuted: number };

/** Polls the run list (3 requests for 200 runs, not 200) so the polling itself barely loads the Worker. */
export async function waitForEnd(b: Bench, runIds: string[], timeoutMs = 600_000): Promise<Map<string, RunView>> {
  const wanted = new Set(runIds);
  const done = new Map<string, RunView>();
  const deadline = Date.now() + timeoutMs;
  while (done.size < wanted.size) {
    if (Date.now() > deadline) throw new Error(`${wanted.size - done.size} runs did not end in ${timeoutMs / 1000} s`);
    let cursor: string | null = null;
    do {
      const page: { items: RunView[]; nextCursor: string | null } = await api(b, "GET", `/runs?limit=100${cursor ? `&cursor=${cursor}` : ""}`);
      for (const v of page.items) if (wanted.has(v.id) && ["completed", "failed", "cancelled", "skipped"].includes(v.status)) done.set(v.id, v);
      cursor = page.nextCursor;
    } while (cursor);
    // Run times come from the runs' own timestamps, so polling slowly costs no precision and loads the Worker less.
    if (done.size < wanted.size) await new Promise((r) => setTimeout(r, 2000));
  }
  return done;
}

export async function llmStats(b: Bench, key: string): Promise<{ arrivals: number[]; responded: number[]; maxRequestTokens: number; requests: number }> {
  return (await fetch(`${b.llmUrl}/__stats/${key}`)).json() as any;
}

export { percentile } from "./dev-server.ts";
