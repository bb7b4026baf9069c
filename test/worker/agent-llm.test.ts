/** Providers against the fakes: validation per provider, Ollama through the Access-protected tunnel, OpenRouter headers, the context bound. */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import type { Checkpoint } from "../../worker/agent/run-loop";
import { clearValidationCache, validateLlm } from "../../worker/llm/validate";
import { finishTool } from "../../worker/tools/finish.tool";
import { defineTool } from "../../worker/tools/tool";
import { api, call } from "./api";
import { llmStats, runLoopDirectly, type script, startScriptedRun, stepsOf, waitForRunEnd } from "./agent-helpers";

/** Runs the loop directly on a new goal scripted with `s`; with `now`, the clock jumps a minute after the second checkpoint. */
async function loopFor(
  s: Parameters<typeof script>[0],
  params: Record<string, unknown>,
  opts: { tools?: any[]; now?: () => number; objective?: string; onCheckpoint?: (cp: Checkpoint) => void } = {},
) {
  let checkpoints = 0;
  const { result, key, runId } = await runLoopDirectly(
    s,
    { objective: opts.objective ?? "Budget test", params },
    {
      tools: opts.tools,
      onCheckpoint: (cp) => {
        checkpoints++;
        opts.onCheckpoint?.(cp);
      },
      now: opts.now && (() => opts.now!() + (checkpoints >= 2 ? 60_000 : 0)),
    },
  );
  return { result, key, runId };
}

describe("tool-calling validation", () => {
  it("reports each provider's verdict through POST /llm/validate, including incompatible models", async () => {
    const cases: [Record<string, string>, boolean, RegExp?][] = [
      [{}, true],
      [{ provider: "openai", model: "gpt-4o-mini" }, true],
      [{ provider: "openai", model: "my-finetune" }, true],
      [{ provider: "openai", model: "text-only-001" }, false, /answered a tool-call probe with text/],
      [{ provider: "openrouter" }, true],
      [{ provider: "openrouter", model: "acme/text-only-model" }, false, /does not support tool calling/],
      [{ provider: "openrouter", model: "nobody/missing" }, false, /has no model "nobody\/missing"/],
      [{ provider: "ollama" }, true],
      [{ provider: "ollama", model: "gemma:2b" }, false, /gemma:2b does not support tool calling/],
      [{ provider: "ollama", model: "llama9:70b" }, false, /not pulled.*ollama pull llama9:70b/],
      [{ provider: "ollama", model: "old-model" }, true],
    ];
    for (const [body, ok, reason] of cases) {
      const res = await api.post("/llm/validate", body);
      expect(res.status, JSON.stringify(body)).toBe(200);
      expect(res.body.ok, JSON.stringify(res.body)).toBe(ok);
      if (reason) expect(res.body.reason).toMatch(reason);
    }
    expect((await api.post("/llm/validate", { provider: "gemini" })).status).toBe(400);
  });

  it("says the tunnel refused us when the Access service token is missing", async () => {
    clearValidationCache();
    const v = await validateLlm({ ...env, CF_ACCESS_CLIENT_ID: "", CF_ACCESS_CLIENT_SECRET: "" }, null, { provider: "ollama" });
    clearValidationCache();
    expect(v).toMatchObject({ provider: "ollama", model: "qwen3:8b", ok: false });
    expect(v.reason).toMatch(/HTTP 403.*CF_ACCESS_CLIENT_ID/);
  });

  it("reports the LLM check on /health/ready, and documents the agent routes in OpenAPI", async () => {
    const res = await call("GET", "/health/ready", { token: null });
    expect(res.body.checks.llm).toMatchObject({ ok: true, provider: "openai", model: "gpt-4.1-mini" });
    const doc = (await api.get("/openapi.json")).body;
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/runs/{id}/stream", "/runs/{id}/cancel", "/llm/validate"]));
    expect(doc.paths["/runs/{id}/stream"].get.responses["200"].content).toHaveProperty("text/event-stream");
  });
});

describe("providers in runs", () => {
  it("runs on Ollama through the Access-protected tunnel with num_ctx set and a leaked tool call recovered", async () => {
    const { run, key } = await startScriptedRun(
      {
        turns: [
          { leak: true, toolCalls: [{ name: "remember", arguments: { content: "from a local model" } }] },
          { toolCalls: [{ name: "finish", arguments: { summary: "local done" } }] },
        ],
      },
      { params: { provider: "ollama" } },
    );
    const ended = await waitForRunEnd(run.id);
    expect(ended).toMatchObject({ status: "completed", summary: "local done", error: null });
    expect((await stepsOf(run.id)).map((s) => [s.toolName, s.toolInput])).toEqual([
      ["remember", { content: "from a local model" }],
      ["finish", { summary: "local done" }],
    ]);
    const seen = (await llmStats(key)).headers[0];
    expect(seen["cf-access-client-id"]).toBe("access-client.id");
    expect(Number(seen["x-num-ctx"])).toBeGreaterThanOrEqual(8192);
  });

  it("records on the run that Ollama truncated the prompt", async () => {
    const { run } = await startScriptedRun(
      { turns: [{ text: "Short answer.", promptEvalCount: 100 }] },
      { objective: `Read this long brief. ${"lorem ipsum dolor sit amet ".repeat(270)}`, params: { provider: "ollama" } },
    );
    const ended = await waitForRunEnd(run.id);
    expect(ended.status).toBe("completed");
    expect(ended.error).toMatch(/read only 100 of ~\d+ prompt tokens: the prompt was truncated/);
  });

  it("sends OpenRouter's attribution headers", async () => {
    const { run, key } = await startScriptedRun({ turns: [{ text: "via openrouter" }] }, { params: { provider: "openrouter" } });
    expect(await waitForRunEnd(run.id)).toMatchObject({ status: "completed", summary: "via openrouter" });
    const seen = (await llmStats(key)).headers[0];
    expect(seen["http-referer"]).toMatch(/^https:\/\//);
    expect(seen["x-title"]).toBe("async-agent");
  });
});

describe("context bound", () => {
  it("keeps every request of a 20-step run with 200 KB results under 16k tokens, and long results stay readable", async () => {
    const big = "0123456789".repeat(20_000);
    const bigRead = defineTool({
      name: "big_read",
      description: "Returns a 200 KB document",
      input: z.object({ n: z.int() }),
      execute: async ({ n }) => ({ text: `doc ${n}: ${big}` }),
    });
    const checkpoints: Checkpoint[] = [];
    const { result, key, runId } = await loopFor(
      {
        turns: [{ toolCalls: [{ name: "big_read", arguments: { n: 1 } }] }, { toolCalls: [{ name: "read_more", arguments: { step: 1, offset: 6000 } }] }],
        then: { toolCalls: [{ name: "big_read", arguments: { n: 2 } }] },
        closing: { text: "Read 19 documents." },
      },
      { stepBudget: 20 },
      { tools: [bigRead, finishTool()], objective: "Read everything", onCheckpoint: (cp) => checkpoints.push(structuredClone(cp)) },
    );
    expect(result).toMatchObject({ status: "completed", endReason: "budget_exhausted", summary: "Read 19 documents." });
    expect(result.totals.stepsExecuted).toBe(21);
    const stats = await llmStats(key);
    expect(stats.requests).toBe(21);
    console.log(`context: largest request of the 20-step 200 KB run ≈ ${stats.maxRequestTokens} tokens (chars/4)`);
    expect(stats.maxRequestTokens).toBeLessThan(16_000);
    const steps = await stepsOf(runId);
    expect(steps[1].observation.startsWith(`doc 1: ${big}`.slice(6000, 6100))).toBe(true);
    expect(steps[1].observation).toContain("[chars 6000-11800 of");
    // The checkpoint stays small enough for one Durable Object SQLite row.
    expect(JSON.stringify(checkpoints.at(-1)).length).toBeLessThan(200_000);
  });
});

describe("loop budgets and tool timeouts", () => {
  const remember = { toolCalls: [{ name: "remember", arguments: { content: "x" } }] };

  it("ends on the token budget with a closing report", async () => {
    const { result, key } = await loopFor({ turns: [], then: remember, closing: { text: "Out of tokens: partial report." } }, { tokenBudget: 1000 });
    expect(result).toMatchObject({ status: "completed", endReason: "budget_exhausted", summary: "Out of tokens: partial report." });
    expect(result.totals.promptTokens + result.totals.completionTokens).toBeGreaterThanOrEqual(1000);
    expect((await llmStats(key)).toolsOffered.at(-1)).toEqual([]);
  });

  it("ends on the wall-clock budget, counted from the run's start", async () => {
    const { result } = await loopFor({ turns: [], then: remember, closing: { text: "Out of time." } }, { timeBudgetSeconds: 30 }, { now: Date.now });
    expect(result).toMatchObject({ status: "completed", endReason: "budget_exhausted", summary: "Out of time." });
    expect(result.totals.stepsExecuted).toBe(2);
  });

  it("turns a tool that outlives its timeout into an error observation", async () => {
    const stuck = defineTool({
      name: "stuck",
      description: "Never answers",
      input: z.object({}),
      timeoutMs: 50,
      execute: () => new Promise(() => {}),
    });
    const { result, runId } = await loopFor(
      { turns: [{ toolCalls: [{ name: "stuck", arguments: {} }] }, { text: "It hung." }] },
      {},
      { tools: [stuck, finishTool()] },
    );
    expect(result).toMatchObject({ status: "completed", endReason: "answered" });
    const [step] = await stepsOf(runId);
    expect(step).toMatchObject({ toolName: "stuck", error: "stuck timed out after 50 ms" });
  });

  it("keeps configured secrets out of observations and step errors, whatever a tool says", async () => {
    const leaky = defineTool({
      name: "leaky",
      description: "Echoes configuration",
      input: z.object({ fail: z.boolean() }),
      execute: async ({ fail }) => {
        const text = `key=${env.OPENAI_API_KEY} secret=${env.WEBHOOK_SECRET}`;
        if (fail) throw new Error(`upstream said ${text}`);
        return { text };
      },
    });
    const { runId } = await loopFor(
      {
        turns: [
          {
            toolCalls: [
              { name: "leaky", arguments: { fail: false } },
              { name: "leaky", arguments: { fail: true } },
            ],
          },
          { text: "done" },
        ],
      },
      {},
      { tools: [leaky, finishTool()] },
    );
    const steps = await stepsOf(runId);
    expect(steps.map((s) => s.toolName)).toEqual(["leaky", "leaky", null]);
    const stored = JSON.stringify(steps);
    expect(stored).toContain("[redacted]");
    // The observation the model reads is built from the same redacted text.
    for (const secret of [env.OPENAI_API_KEY, env.WEBHOOK_SECRET]) expect(stored).not.toContain(secret);
  });
});
