/** Usage and money: cost per step and run from real prices (built-in table, OpenRouter's /models, MODEL_PRICES), unknown prices. */
import { env } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { runLoop } from "../../worker/agent/run-loop";
import { app } from "../../worker/api/app";
import { dbFor } from "../../worker/db/client";
import { getGoal } from "../../worker/db/goals";
import { insertRun } from "../../worker/db/runs";
import { costNanos, priceOf } from "../../worker/llm/prices";
import { providerFor } from "../../worker/llm/provider";
import { finishTool } from "../../worker/tools/finish.tool";
import type { FakeScript } from "../fakes/llm";
import { llmStats, runLoopDirectly, script, stepsOf, waitForRunEnd } from "./agent-helpers";
import { api, createGoal } from "./api";

const db = dbFor(env.DB);
const hook = (key: string) => `${env.TEST_WEBHOOK_RECEIVER_URL}/hooks/${key}`;

/** Starts `s` on a new goal through POST /goals/:id/run and waits for the run's end. */
async function runScripted(s: FakeScript, goal: Record<string, unknown> = {}) {
  const { key, marker } = await script(s, "usage");
  const created = await createGoal({ ...goal, objective: `Usage test ${marker}` });
  const res = await api.post(`/goals/${created.id}/run`);
  expect(res.status).toBe(202);
  return { key, goal: created, run: await waitForRunEnd(res.body.id) };
}

/** Runs the loop directly (no Durable Object) with `envOver` over the test bindings. */
const loopWith = (s: FakeScript, params: Record<string, unknown>, envOver: Record<string, string>) =>
  runLoopDirectly(s, { objective: "Usage loop", params }, { env: envOver, name: "usage-loop" });

// Two turns with usage the fake reports: a finish call, reached after one tool call.
const twoTurns = (): FakeScript => ({
  turns: [
    { toolCalls: [{ name: "read_more", arguments: { step: 1 } }], usage: { prompt: 1000, completion: 200, cached: 400, reasoning: 50 } },
    { toolCalls: [{ name: "finish", arguments: { summary: "done" } }], usage: { prompt: 2000, completion: 100 } },
  ],
});

describe("cost per step and run", () => {
  it("prices every model call from the built-in OpenAI table: exact per step, per run, and in the completion webhook", async () => {
    const { run } = await runScripted(twoTurns(), { webhookUrl: hook("usage-cost") });
    expect(run.status).toBe("completed");
    // gpt-4.1-mini: $0.40 prompt, $0.10 cached prompt, $1.60 completion per million tokens.
    // Turn 1: 600 × 0.4 + 400 × 0.1 + 200 × 1.6 = 600 µ$; turn 2: 2000 × 0.4 + 100 × 1.6 = 960 µ$.
    const steps = await stepsOf(run.id);
    expect(steps.map((s) => s.costUsd)).toEqual([0.0006, 0.00096]);
    expect(steps[0].tokens).toEqual({ prompt: 1000, completion: 200, cached: 400, reasoning: 50, total: 1200 });
    expect(run).toMatchObject({ costUsd: 0.00156, model: "gpt-4.1-mini", error: null });
    expect(run.tokens).toEqual({ prompt: 3000, completion: 300, cached: 400, reasoning: 50, total: 3300 });
    const attempts = await vi.waitFor(async () => {
      const a = (await (await fetch(hook("usage-cost"))).json()) as { attempts: { verified: boolean; body: any }[] };
      if (!a.attempts.length) throw new Error("no webhook yet");
      return a.attempts;
    });
    expect(attempts[0].verified).toBe(true);
    expect(attempts[0].body.data).toMatchObject({ costUsd: 0.00156, run: { costUsd: 0.00156 } });
  });

  it("takes OpenRouter's prices from its GET /models", async () => {
    const { run } = await runScripted(
      { turns: [{ text: "The answer.", usage: { prompt: 1000, completion: 100 } }] },
      { params: { provider: "openrouter", model: "acme/pricey-model" } },
    );
    // $3 / $15 per million: 1000 × 3 + 100 × 15 = 4500 µ$.
    expect(run).toMatchObject({ error: null, status: "completed", costUsd: 0.0045, model: "acme/pricey-model" });
    expect((await stepsOf(run.id))[0].costUsd).toBe(0.0045);
  });

  it("has costUsd null for a model without a known price, and says so on the run", async () => {
    const { run } = await runScripted(
      { turns: [{ text: "The answer.", usage: { prompt: 1000, completion: 100 } }] },
      { params: { provider: "openrouter", model: "acme/unpriced-model" } },
    );
    expect(run).toMatchObject({ status: "completed", costUsd: null });
    expect(run.error).toMatch(/cost unknown: no price is known for openrouter model acme\/unpriced-model \(add it to MODEL_PRICES\)/);
    expect((await stepsOf(run.id))[0].costUsd).toBeNull();
  });

  it("lets MODEL_PRICES override and extend the table; a malformed MODEL_PRICES leaves the cost unknown with the reason", async () => {
    const reply: FakeScript = { turns: [{ text: "ok", usage: { prompt: 1_000_000, completion: 500_000 } }] };
    const over = await loopWith(reply, {}, { MODEL_PRICES: JSON.stringify({ "gpt-4.1-mini": { prompt: 1, completion: 3 } }) });
    expect(over.result.totals.costNanos).toBe(2_500_000_000);
    expect((await api.get(`/runs/${over.runId}/steps`)).body.items[0].costUsd).toBe(2.5);
    const extended = await loopWith(
      reply,
      { model: "my-finetune" },
      { MODEL_PRICES: JSON.stringify({ "my-finetune": { prompt: 0.5, completion: 1, cached: 0.1 } }) },
    );
    expect(extended.result.totals.costNanos).toBe(1_000_000_000);
    const bad = await loopWith(reply, {}, { MODEL_PRICES: "{not json" });
    expect(bad.result.totals.costNanos).toBeNull();
    expect(bad.result.error).toMatch(/cost unknown: MODEL_PRICES is not valid JSON/);
  });

  it("computes prices per provider: dated OpenAI snapshots, Ollama at 0, unknown as null, never a guess", async () => {
    const at = (name: "openai" | "openrouter" | "ollama", model: string, e: Record<string, string> = {}) =>
      priceOf({ ...env, ...e }, { ...providerFor(env, null, { provider: name, model }), name, model });
    expect(await at("openai", "gpt-4.1-2025-04-14")).toEqual({ prompt: 2, completion: 8, cached: 0.5 });
    expect(await at("openai", "gpt-99")).toBeNull();
    expect(await at("ollama", "qwen3:8b")).toEqual({ prompt: 0, completion: 0 });
    expect(await at("openrouter", "openai/gpt-4.1-mini")).toEqual({ prompt: 0.4, completion: 1.6, cached: 0.1 });
    expect(await at("openrouter", "nobody/missing")).toBeNull();
    await expect(at("openai", "x", { MODEL_PRICES: '{"x": {"prompt": -1, "completion": 1}}' })).rejects.toThrow(/MODEL_PRICES\["x"\]/);
    // Cached tokens at the cached price; without one, at the prompt price.
    expect(costNanos({ prompt: 2, completion: 8, cached: 0.5 }, { prompt: 100, completion: 10, cached: 40 })).toBe(60 * 2000 + 40 * 500 + 10 * 8000);
    expect(costNanos({ prompt: 2, completion: 8 }, { prompt: 100, completion: 10, cached: 40 })).toBe(100 * 2000 + 10 * 8000);
    expect(costNanos(null, { prompt: 1, completion: 1 })).toBeNull();
  });
});

describe("GET /usage", () => {
  /** A goal with runs started at `times` (ISO), each with the given tokens and nano-USD cost (null: unpriced). */
  async function goalWithRuns(runsAt: [string, number, number | null, string?][]) {
    const goal = await createGoal({ objective: "usage rows" });
    for (const [at, tokens, nanos, model] of runsAt) {
      const run = await insertRun(db, { goalId: goal.id, trigger: "manual", stepBudget: 5, status: "completed" });
      await env.DB.prepare("UPDATE runs SET started_at = ?, prompt_tokens = ?, completion_tokens = ?, cost_nanos = ?, model = ? WHERE id = ?")
        .bind(Date.parse(at), tokens, tokens / 10, nanos, model ?? "gpt-4.1-mini", run.id)
        .run();
    }
    return goal.id as string;
  }
  const usage = (q: string) => api.get(`/usage?${q}`);

  it("sums a real run's tokens and cost exactly", async () => {
    const { goal, run } = await runScripted(twoTurns());
    const res = await usage(`goalId=${goal.id}&groupBy=goal`);
    expect(res.status).toBe(200);
    expect(res.body.items).toEqual([{ key: goal.id, runs: 1, promptTokens: 3000, completionTokens: 300, costUsd: 0.00156, unpricedRuns: 0 }]);
    expect(res.body.totals).toEqual({ runs: 1, promptTokens: 3000, completionTokens: 300, costUsd: 0.00156, unpricedRuns: 0 });
    expect(run.costUsd).toBe(0.00156);
  });

  it("groups by day in UTC or in tz (half-hour zones too), by goal and by model, within [from, to)", async () => {
    const id = await goalWithRuns([
      ["2026-03-01T03:00:00Z", 1000, 1_000_000],
      ["2026-03-01T06:00:00Z", 2000, 2_500_000, "acme/pricey-model"],
      ["2026-03-01T18:45:00Z", 500, null, "acme/unpriced-model"],
      ["2026-03-05T00:00:00Z", 9999, 9_999],
    ]);
    const span = `goalId=${id}&from=2026-03-01&to=2026-03-05`;
    const utc = await usage(`${span}&groupBy=day`);
    expect(utc.body.items).toEqual([{ key: "2026-03-01", runs: 3, promptTokens: 3500, completionTokens: 350, costUsd: 0.0035, unpricedRuns: 1 }]);
    expect((await usage(`${span}&groupBy=day&tz=America/New_York`)).body.items.map((r: any) => [r.key, r.runs, r.costUsd])).toEqual([
      ["2026-02-28", 1, 0.001],
      ["2026-03-01", 2, 0.0025],
    ]);
    expect((await usage(`${span}&groupBy=day&tz=Asia/Kolkata`)).body.items.map((r: any) => [r.key, r.runs])).toEqual([
      ["2026-03-01", 2],
      ["2026-03-02", 1],
    ]);
    expect((await usage(`${span}&groupBy=model`)).body.items.map((r: any) => [r.key, r.runs, r.costUsd])).toEqual([
      ["acme/pricey-model", 1, 0.0025],
      ["gpt-4.1-mini", 1, 0.001],
      ["acme/unpriced-model", 1, 0],
    ]);
    const byGoal = await usage(`from=2026-03-01T00:00:00Z&to=2026-03-06T00:00:00Z&groupBy=goal`);
    expect(byGoal.body.items.find((r: any) => r.key === id)).toMatchObject({ runs: 4, promptTokens: 13499 });
  });

  it("tells the instance's monthly budget (MONTHLY_BUDGET_USD) it measures against, null when unset or not a number", async () => {
    const budgetOf = async (value: string | undefined) => {
      const res = await app.fetch(
        new Request("http://worker/api/v1/usage?groupBy=goal", { headers: { authorization: `Bearer ${env.API_TOKEN}` } }),
        { ...env, MONTHLY_BUDGET_USD: value },
        createExecutionContext(),
      );
      expect(res.status).toBe(200);
      return ((await res.json()) as { monthlyBudgetUsd: number | null }).monthlyBudgetUsd;
    };
    expect((await usage("groupBy=day")).body.monthlyBudgetUsd).toBeNull();
    expect(await budgetOf("25.5")).toBe(25.5);
    expect(await budgetOf("")).toBeNull();
    expect(await budgetOf("lots")).toBeNull();
  });

  it("refuses a bad query with a 400 naming the field", async () => {
    for (const [q, field] of [
      ["groupBy=week", "groupBy"],
      ["from=yesterday", "from"],
      ["tz=Mars/Olympus", "tz"],
      ["from=2026-03-02&to=2026-03-01", "from"],
      ["from=2024-01-01&to=2026-01-01", "from"],
    ]) {
      const res = await usage(q);
      expect(res.status, q).toBe(400);
      expect(res.body.error.message, q).toMatch(new RegExp(`^${field}: `));
    }
  });
});

describe("monthly budgets", () => {
  const month = () => new Date().toISOString().slice(0, 7);
  const seed = (scope: string, m: string, costNanos: number, tokens = 0) =>
    env.DB.prepare("INSERT INTO usage_months (scope, month, cost_nanos, tokens) VALUES (?, ?, ?, ?)").bind(scope, m, costNanos, tokens).run();
  const budgetEvents = async (key: string) =>
    ((await (await fetch(hook(key))).json()) as { attempts: { webhookId: string; verified: boolean; body: any }[] }).attempts.filter(
      (a) => a.body.type === "usage.budget_reached",
    );

  /** Runs the loop directly on a new goal at a controlled clock. */
  const loopAt = (
    s: FakeScript,
    goalBody: Record<string, unknown>,
    now: number,
    envOver: Record<string, string> = {},
    seedWith?: (goalId: string) => Promise<unknown>,
  ) => runLoopDirectly(s, { ...goalBody, objective: "Budget loop" }, { env: envOver, now: () => now, beforeStart: seedWith, name: "budget-loop" });

  it("skips a run of a goal over its monthly budget with the reason, no LLM request, and one usage.budget_reached webhook", async () => {
    const { key, marker } = await script({ turns: [{ text: "should never be asked" }] }, "over");
    const goal = await createGoal({ objective: `Over budget ${marker}`, webhookUrl: hook("budget-once"), params: { monthlyBudgetUsd: 5 } });
    await seed(goal.id, month(), 5_030_000_000);
    for (let i = 0; i < 2; i++) {
      const res = await api.post(`/goals/${goal.id}/run`);
      const run = await waitForRunEnd(res.body.id);
      expect(run).toMatchObject({ status: "skipped", endReason: "skipped", startedAt: null, costUsd: 0 });
      expect(run.error).toBe(`monthly budget of $5.00 reached: $5.03 spent since ${month()}-01`);
    }
    expect(await llmStats(key)).toBeNull();
    const shown = (await api.get(`/goals/${goal.id}`)).body;
    expect(shown.readiness).toEqual({ ready: false, reason: `monthly budget of $5.00 reached: $5.03 spent since ${month()}-01` });
    expect(shown.usage).toMatchObject({ month: month(), costUsd: 5.03, lastRun: null });
    const events = await vi.waitFor(async () => {
      const e = await budgetEvents("budget-once");
      if (!e.length) throw new Error("no event yet");
      return e;
    });
    // Sent once for the month, however many runs are skipped.
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ verified: true, webhookId: `msg_budget_${goal.id}_${month()}` });
    expect(events[0].body.data).toMatchObject({
      goal: { id: goal.id },
      month: month(),
      costUsd: 5.03,
      reason: expect.stringMatching(/^monthly budget of \$5\.00/),
    });
  });

  it("ends a run that crosses its goal's budget through the budget path (one last turn without tools), counting the spending", async () => {
    const { run, key, goal } = await runScripted(
      {
        turns: [{ toolCalls: [{ name: "read_more", arguments: { step: 1 } }], usage: { prompt: 3000, completion: 0 } }],
        then: { toolCalls: [{ name: "read_more", arguments: { step: 1 } }] },
        closing: { text: "Report: stopped by the budget.", usage: { prompt: 100, completion: 10 } },
      },
      { params: { monthlyBudgetUsd: 0.001 }, webhookUrl: hook("budget-cross") },
    );
    // 3000 × $0.40 per million = $0.0012 ≥ $0.001 after the first turn.
    expect(run).toMatchObject({ status: "completed", endReason: "budget_exhausted", summary: "Report: stopped by the budget." });
    expect(run.error).toBe(`monthly budget of $0.0010 reached: $0.0012 spent since ${month()}-01`);
    const stats = await llmStats(key);
    expect(stats.toolsOffered.at(-1)).toEqual([]);
    expect(stats.requests).toBe(2);
    // 1200 µ$ + the write-up's 56 µ$, all counted in the goal's month.
    const shown = (await api.get(`/goals/${goal.id}`)).body;
    expect(shown.usage).toMatchObject({ costUsd: 0.001256, tokens: 3110, lastRun: { id: run.id, costUsd: 0.001256 } });
    expect(shown.readiness.ready).toBe(false);
    await vi.waitFor(async () => expect(await budgetEvents("budget-cross")).toHaveLength(1));
  });

  it("counts the month in the goal's time zone: over budget until local midnight, running again in the new month", async () => {
    const goalBody = { schedule: { cron: "0 9 * * *", timezone: "America/New_York" }, params: { monthlyBudgetUsd: 1 } };
    const seedJan = (id: string) => seed(id, "2031-01", 2_000_000_000);
    // 04:30 UTC on Feb 1 is still 23:30 on Jan 31 in New York.
    const late = await loopAt({ turns: [{ text: "no" }] }, goalBody, Date.parse("2031-02-01T04:30:00Z"), {}, seedJan);
    expect(late.result).toMatchObject({ status: "skipped", error: "monthly budget of $1.00 reached: $2.00 spent since 2031-01-01" });
    expect(await llmStats(late.key)).toBeNull();
    const next = await loopAt(
      { turns: [{ text: "February.", usage: { prompt: 1000, completion: 0 } }] },
      goalBody,
      Date.parse("2031-02-01T05:30:00Z"),
      {},
      seedJan,
    );
    expect(next.result).toMatchObject({ status: "completed", endReason: "answered" });
    const row = await env.DB.prepare("SELECT cost_nanos AS c, tokens AS t FROM usage_months WHERE scope = ? AND month = '2031-02'").bind(next.goalId).first();
    expect(row).toEqual({ c: 400_000, t: 1000 });
  });

  it("applies a monthly token budget and the instance's MONTHLY_BUDGET_USD (UTC month)", async () => {
    const at = Date.parse("2032-06-15T12:00:00Z");
    const tokens = await loopAt({ turns: [{ text: "no" }] }, { params: { monthlyTokenBudget: 5000 } }, at, {}, (id) => seed(id, "2032-06", 0, 5000));
    expect(tokens.result.error).toBe("monthly token budget of 5000 tokens reached: 5000 used since 2032-06-01");
    await seed("*", "2032-06", 100_000_000_000);
    const global = await loopAt({ turns: [{ text: "no" }] }, {}, at, { MONTHLY_BUDGET_USD: "100" });
    expect(global.result).toMatchObject({
      status: "skipped",
      error: "instance monthly budget of $100.00 (MONTHLY_BUDGET_USD) reached: $100.00 spent since 2032-06-01",
    });
    const roomy = await loopAt({ turns: [{ text: "yes" }] }, {}, at, { MONTHLY_BUDGET_USD: "150" });
    expect(roomy.result.status).toBe("completed");
    expect(await llmStats(global.key)).toBeNull();
  });

  it("counts two runs of one goal started together without losing either's spending, and stops both", async () => {
    const { key, marker } = await script(
      {
        turns: [{ toolCalls: [{ name: "read_more", arguments: { step: 1 } }], usage: { prompt: 1500, completion: 0 } }],
        then: { toolCalls: [{ name: "read_more", arguments: { step: 1 } }], usage: { prompt: 1500, completion: 0 } },
        closing: { text: "Stopped.", usage: { prompt: 100, completion: 0 } },
      },
      "together",
    );
    const created = await createGoal({ objective: `Together ${marker}`, params: { monthlyBudgetUsd: 0.001 } });
    const goal = (await getGoal(db, created.id))!;
    const loop = async () => {
      const run = await insertRun(db, { goalId: goal.id, trigger: "manual", stepBudget: 20, status: "running" });
      const r = await runLoop({
        env,
        db,
        goal,
        run,
        llm: providerFor(env, goal),
        tools: [finishTool()],
        signal: new AbortController().signal,
        checkpoint: () => {},
      });
      if (r.status === "waiting") throw new Error("no run of this goal waits for a person");
      return r;
    };
    const [a, b] = await Promise.all([loop(), loop()]);
    for (const r of [a, b]) expect(r).toMatchObject({ status: "completed", endReason: "budget_exhausted" });
    // Each turn costs 600 µ$ (1500 × $0.40 per million): alone, a run crosses $0.001 after its second turn; together
    // they see each other's turns one write late, so each makes at most two turns and its write-up.
    expect((await llmStats(key)).requests).toBeLessThanOrEqual(6);
    const row = await env.DB.prepare("SELECT cost_nanos AS c FROM usage_months WHERE scope = ? AND month = ?").bind(goal.id, month()).first<{ c: number }>();
    expect(row?.c).toBe(a.totals.costNanos! + b.totals.costNanos!);
  });

  it("refuses a bad budget with a 400 naming the field", async () => {
    for (const [params, field] of [
      [{ monthlyBudgetUsd: -1 }, "params.monthlyBudgetUsd"],
      [{ monthlyBudgetUsd: "5" }, "params.monthlyBudgetUsd"],
      [{ monthlyTokenBudget: 1.5 }, "params.monthlyTokenBudget"],
    ] as const) {
      const res = await api.post("/goals", { objective: "bad budget", params });
      expect(res.status).toBe(400);
      expect(res.body.error.message).toMatch(new RegExp(`^${field.replace(".", "\\.")}: `));
    }
  });
});
