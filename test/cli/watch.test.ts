/**
 * `run watch` / `run logs --follow` against a small SSE server that speaks the stream contract
 * (COMMON.md): drops, reconnects with Last-Event-ID, terminal events, Ctrl-C. The real stream is
 * covered in cli.test.ts; this one makes the network faults happen on purpose.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Run, Step } from "../../worker/api/schemas";
import { type Fake, serve } from "../fakes/http";
import { hasEscapes, removeTempDirs, runCli, tempHome } from "./run-cli";
import { inTerminal, screen } from "./terminal";

const TOKEN = "sse-token";
const t0 = Date.parse("2026-11-20T10:00:00Z");
const iso = (ms: number) => new Date(t0 + ms).toISOString();

const run = (id: string, status: Run["status"], extra: Partial<Run> = {}): Run => ({
  id,
  goalId: "goal_sse",
  status,
  trigger: "manual",
  scheduledFor: null,
  startedAt: iso(0),
  endedAt: status === "running" ? null : iso(4200),
  stepsExecuted: 2,
  stepBudget: 10,
  tokens: { prompt: 100, completion: 50, cached: 0, reasoning: 0, total: 150 },
  costUsd: 0.00012,
  model: "gpt-4.1-mini",
  summary: null,
  error: null,
  endReason: null,
  skippedCount: 0,
  delivery: null,
  plan: null,
  createdAt: iso(0),
  updatedAt: iso(0),
  ...extra,
});
const step = (runId: string, stepNo: number, toolName: string, toolInput: unknown): Step => ({
  runId,
  stepNo,
  thought: `thinking about step ${stepNo}`,
  toolName,
  toolInput,
  observation: `observed ${stepNo}`,
  durationMs: 1200,
  tokens: { prompt: 10, completion: 5, cached: 0, reasoning: 0, total: 15 },
  costUsd: 0.000012,
  error: null,
  createdAt: iso(stepNo * 1000),
});
const sse = (event: string, id: string, data: unknown) => `event: ${event}\nid: ${id}\ndata: ${JSON.stringify(data)}\n\n`;
/** plan, run.waiting and run.resumed carry no id: a reconnect is told them again. */
const sseNoId = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
const planOf = (at: number, ...statuses: string[]) => ({
  items: statuses.map((status, i) => ({ title: ["Find the numbers", "Post them"][i], status })),
  updatedAt: iso(at),
});
const approval = {
  kind: "approval",
  id: "run_waits.w1",
  stepNo: 2,
  askedAt: iso(1000),
  expiresAt: new Date(Date.now() + 3 * 86_400_000).toISOString(),
  tool: "send_webhook",
  input: { payload: { total: 42 } },
};

const connections: { runId: string; lastEventId: string | undefined }[] = [];
let server: Fake;
const home = tempHome();
let env: Record<string, string>;

function streamFor(runId: string, lastEventId: string | undefined, res: ServerResponse) {
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  const s1 = step(runId, 1, "web_search", { query: "top AI news this week", limit: 5 });
  const s2 = step(runId, 2, "finish", { summary: "Three stories" });
  if (runId === "run_complete") {
    res.write(": ping\n\n");
    res.write(sse("run.started", "0", run(runId, "running")));
    res.write(sse("step", "1", s1));
    res.write(sse("step", "2", s2));
    res.end(sse("run.completed", "end", run(runId, "completed", { summary: "## AI news\n- three stories", endReason: "finished" })));
  } else if (runId === "run_drop") {
    // First connection: one step, then the connection drops. The CLI must resume after step 1.
    if (lastEventId === undefined) {
      res.write(sse("run.started", "0", run(runId, "running")));
      res.write(sse("step", "1", s1));
      setTimeout(() => res.destroy(), 50);
    } else {
      res.write(sse("step", "2", s2));
      res.end(sse("run.completed", "end", run(runId, "completed", { summary: "resumed fine" })));
    }
  } else if (runId === "run_silent") {
    // First connection: one step, then silence without closing (a dead proxy). The CLI must give up on it and resume.
    if (lastEventId === undefined) {
      res.write(sse("run.started", "0", run(runId, "running")));
      res.write(sse("step", "1", s1));
    } else {
      res.write(sse("step", "2", s2));
      res.end(sse("run.completed", "end", run(runId, "completed", { summary: "back after the silence" })));
    }
  } else if (runId === "run_failed") {
    res.write(sse("run.started", "0", run(runId, "running")));
    res.end(sse("run.failed", "end", run(runId, "failed", { error: "LLM provider unreachable", endReason: "error" })));
  } else if (runId === "run_hang") {
    res.write(sse("run.started", "0", run(runId, "running")));
    res.write(sse("step", "1", s1));
    const ping = setInterval(() => res.write(": ping\n\n"), 200);
    res.on("close", () => clearInterval(ping));
  } else if (runId === "run_waits") {
    // Waits for an approval; the connection drops while waiting, and the next one is told the plan and the wait again.
    if (lastEventId === undefined) {
      res.write(sse("run.started", "0", run(runId, "running")));
      res.write(sse("step", "1", step(runId, 1, "update_plan", { items: [] })));
      res.write(sseNoId("plan", planOf(1, "in_progress", "pending")));
      res.write(sseNoId("run.waiting", run(runId, "waiting", { waitingFor: approval } as Partial<Run>)));
      setTimeout(() => res.destroy(), 50);
    } else {
      res.write(sseNoId("plan", planOf(1, "in_progress", "pending")));
      res.write(sseNoId("run.waiting", run(runId, "waiting", { waitingFor: approval } as Partial<Run>)));
      res.write(sse("step", "2", step(runId, 2, "send_webhook", { payload: { total: 42 } })));
      res.write(sseNoId("run.resumed", run(runId, "running")));
      res.write(sseNoId("plan", planOf(3, "done", "done")));
      res.end(sse("run.completed", "end", run(runId, "completed", { summary: "Posted." })));
    }
  } else if (runId === "run_plan") {
    // The plan changes between steps: on a terminal it is redrawn in place below them.
    const s1 = step(runId, 1, "web_search", { query: "weekly numbers" });
    res.write(sse("run.started", "0", run(runId, "running")));
    res.write(sseNoId("plan", planOf(0, "in_progress", "pending")));
    res.write(sse("step", "1", s1));
    res.write(sseNoId("plan", planOf(1, "done", "in_progress")));
    res.write(sse("step", "2", step(runId, 2, "send_webhook", { payload: { total: 42 } })));
    res.write(sseNoId("plan", planOf(2, "done", "done")));
    res.end(sse("run.completed", "end", run(runId, "completed", { summary: "Posted." })));
  } else {
    res.writeHead(404);
  }
}

beforeAll(async () => {
  server = await serve((req: IncomingMessage, _body, res) => {
    if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      res.writeHead(401, { "content-type": "application/json" });
      return void res.end(JSON.stringify({ error: { code: "unauthorized", message: "invalid bearer token" } }));
    }
    const m = /^\/api\/v1\/runs\/([\w]+)(\/stream|\/steps)?/.exec(req.url ?? "");
    if (m?.[2] === "/stream") {
      const last = req.headers["last-event-id"];
      connections.push({ runId: m[1], lastEventId: typeof last === "string" ? last : undefined });
      return streamFor(m[1], typeof last === "string" ? last : undefined, res);
    }
    if (m?.[2] === "/steps") {
      res.writeHead(200, { "content-type": "application/json" });
      return void res.end(JSON.stringify({ items: [step(m[1], 1, "web_search", { query: "q" })], nextCursor: null }));
    }
    if (m) {
      res.writeHead(200, { "content-type": "application/json" });
      return void res.end(JSON.stringify(run(m[1], "running")));
    }
    res.writeHead(404, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: { code: "not_found", message: `no route for ${req.url}` } }));
  });
  env = { ASYNC_AGENT_URL: `http://127.0.0.1:${server.port}`, ASYNC_AGENT_TOKEN: TOKEN };
});
afterAll(async () => {
  await server?.close();
  removeTempDirs();
});

describe("run watch", () => {
  it("prints each step with tool, input and duration, then the summary; exit 0 on completion", async () => {
    const r = await runCli(["run", "watch", "run_complete"], { home, env });
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines[0]).toBe('✓  1 web_search query="top AI news this week" limit=5 1.2s');
    expect(lines[1]).toBe('✓  2 finish summary="Three stories" 1.2s');
    expect(lines[2]).toMatch(/^✓ completed 4\.2s · 2 steps · 150 tokens · \$0\.0001$/);
    expect(r.stdout).toContain("## AI news\n- three stories");
    expect(hasEscapes(r.stdout + r.stderr)).toBe(false);
  });

  it("resumes a dropped stream with Last-Event-ID and shows no step twice", async () => {
    const r = await runCli(["run", "watch", "run_drop"], { home, env });
    expect(r.code).toBe(0);
    expect(r.stdout.match(/web_search/g)).toHaveLength(1);
    expect(r.stdout).toContain("finish");
    expect(r.stdout).toContain("resumed fine");
    expect(connections.filter((c) => c.runId === "run_drop").map((c) => c.lastEventId)).toEqual([undefined, "1"]);
  });

  it("drops a connection that goes silent (no pings) and resumes after the last step", async () => {
    const r = await runCli(["run", "watch", "run_silent"], { home, env: { ...env, ASYNC_AGENT_STREAM_IDLE_SECONDS: "1" } });
    expect(r.code).toBe(0);
    expect(r.stdout.match(/web_search/g)).toHaveLength(1);
    expect(r.stdout).toContain("back after the silence");
    expect(connections.filter((c) => c.runId === "run_silent").map((c) => c.lastEventId)).toEqual([undefined, "1"]);
  });

  it("exits 1 with the error when the run fails", async () => {
    const r = await runCli(["run", "watch", "run_failed"], { home, env });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("✗ failed: LLM provider unreachable");
  });

  it("--json prints one JSON event per line", async () => {
    const r = await runCli(["run", "watch", "run_complete", "--json"], { home, env });
    expect(r.code).toBe(0);
    const events = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(events.map((e) => e.event)).toEqual(["run.started", "step", "step", "run.completed"]);
    expect(events[1].data.toolName).toBe("web_search");
  });

  it("Ctrl-C stops watching cleanly (exit 130) and says the run goes on", async () => {
    const r = await runCli(["run", "watch", "run_hang"], {
      home,
      env,
      onStdout: (chunk, child) => {
        if (chunk.includes("web_search")) child.kill("SIGINT");
      },
    });
    expect(r.signal).toBeNull();
    expect(r.code).toBe(130);
    expect(r.stderr).toContain("stopped watching; the run goes on. Stop it with: async-agent run cancel run_hang");
    expect(r.stderr).not.toMatch(/at .*\.js/);
  });

  it("logs --follow prints the steps so far, then resumes the stream after the last one", async () => {
    const r = await runCli(["run", "logs", "run_drop", "--follow"], { home, env });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("thinking about step 1");
    expect(r.stdout).toContain("observed 2");
    expect(connections.at(-1)).toEqual({ runId: "run_drop", lastEventId: "1" });
  });
});

describe("run watch: a person in the loop", () => {
  it("shows the wait once, with the commands that decide, says when the run goes on, and prints each plan once", async () => {
    const r = await runCli(["run", "watch", "run_waits"], { home, env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(
      [
        "✓  1 update_plan items=[] 1.2s",
        "Plan 0/2 done",
        "  [~] Find the numbers",
        "  [ ] Post them",
        `⚑ run run_waits waits for your approval to call send_webhook · expires in 3 days (${approval.expiresAt.slice(0, 10)} ${approval.expiresAt.slice(11, 16)} UTC)`,
        "    {",
        '      "payload": {',
        '        "total": 42',
        "      }",
        "    }",
        "  approve: async-agent run approve run_waits",
        '  deny:    async-agent run deny run_waits --note "<why>"',
        '✓  2 send_webhook payload={"total":42} 1.2s',
        "▶ decided: run run_waits goes on",
        "Plan 2/2 done",
        "  [x] Find the numbers",
        "  [x] Post them",
        "✓ completed 4.2s · 2 steps · 150 tokens · $0.0001",
        "",
        "Posted.",
        "",
      ].join("\n"),
    );
    expect(connections.filter((c) => c.runId === "run_waits").map((c) => c.lastEventId)).toEqual([undefined, "1"]);
  });

  it("--json: plan, run.waiting and run.resumed are NDJSON events too, each told once", async () => {
    const r = await runCli(["run", "watch", "run_waits", "--json"], { home, env });
    expect(r.code).toBe(0);
    const events = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(events.map((e) => e.event)).toEqual(["run.started", "step", "plan", "run.waiting", "step", "run.resumed", "plan", "run.completed"]);
    expect(events[2].data).toEqual(planOf(1, "in_progress", "pending"));
    expect(events[3].data.waitingFor).toEqual(approval);
  });

  it("off a terminal, prints the plan after each change; on one, redraws it in place below the steps", async () => {
    const piped = await runCli(["run", "watch", "run_plan"], { home, env });
    expect(piped.code).toBe(0);
    expect(piped.stdout.match(/^Plan /gm)).toHaveLength(3);
    expect(hasEscapes(piped.stdout + piped.stderr)).toBe(false);

    const tty = await inTerminal(["run", "watch", "run_plan"], { home, env });
    expect(tty.code).toBe(0);
    expect(tty.out).toContain("\r\x1b[3A\x1b[J");
    const shown = screen(tty.out);
    expect(shown.filter((l) => l.startsWith("Plan "))).toEqual(["Plan 2/2 done"]);
    const from = shown.findIndex((l) => l.includes("1 web_search"));
    expect(shown.slice(from, from + 6)).toEqual([
      '✓  1 web_search query="weekly numbers" 1.2s',
      '✓  2 send_webhook payload={"total":42} 1.2s',
      "Plan 2/2 done",
      "  [x] Find the numbers",
      "  [x] Post them",
      "✓ completed 4.2s · 2 steps · 150 tokens · $0.0001",
    ]);
  });
});
