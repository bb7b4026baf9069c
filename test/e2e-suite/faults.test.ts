/**
 * Scenarios 4, 5 and 6 on one `wrangler dev`: duplicate deliveries (the same cron minute fired twice at once, a
 * run-now retried with its Idempotency-Key, an inbound webhook delivered twice, every run handed to its agent
 * more than once), LLM faults (429 with Retry-After, 500s, a hanging response, a dropped connection, malformed
 * tool-call JSON, an unknown tool, empty choices, 12 parallel calls) and tool faults (a page that never
 * finishes, a 2 GB body, a redirect loop, a webhook receiver that answers 500 then 200, an MCP server that goes
 * away). Every run must end
 * completed or failed with a clear reason; none may stay running.
 */
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FakeReply } from "../fakes/llm.ts";
import { contiguous, deliveries, hookUrl, type Step, stepsOf } from "./lib/effects.ts";
import { record } from "./lib/report.ts";
import { ENDED, fakeUrl, poll, scriptLlm, startSystem, suiteVars, type System } from "./lib/system.ts";

type Run = { id: string; status: string; endReason: string | null; error: string | null; summary: string | null };

let sys: System;
beforeAll(async () => {
  sys = await startSystem(suiteVars({ RUN_HEARTBEAT_TIMEOUT_SECONDS: "45" }), { logLevel: "log" });
});
afterAll(() => sys?.stop());

async function waitEnded(runId: string, ms = 150_000): Promise<Run> {
  return poll(
    async () => {
      const r = (await sys.api(`/runs/${runId}`)).body as Run;
      return ENDED.includes(r.status) ? r : undefined;
    },
    { ms, every: 500, what: `run ${runId} to end` },
  );
}

async function goalWith(name: string, turns: FakeReply[], body: Record<string, unknown> = {}, objective = "") {
  const { marker } = await scriptLlm(name, { turns });
  const goal = await sys.api("/goals", { body: { objective: `${name} ${objective} ${marker}`, ...body } });
  expect(goal.status, JSON.stringify(goal.body)).toBe(201);
  return goal.body as { id: string; nextRunAt: string | null };
}

const finishTurn: FakeReply = { toolCalls: [{ name: "finish", arguments: { summary: "Done." } }] };

/** One fault case: its script, and what its run's ending and steps must show. */
type Case = {
  name: string;
  turns: FakeReply[];
  objective?: string;
  params?: Record<string, unknown>;
  webhookUrl?: string;
  check: (run: Run, steps: Step[]) => string | null | Promise<string | null>;
};

/** Runs the cases at once (their own goals), each to its end; returns a line per case that broke its promise. */
async function runCases(cases: Case[]): Promise<{ failures: string[]; stuck: number; outcomes: string[] }> {
  const started = await Promise.all(
    cases.map(async (c) => {
      const goal = await goalWith(c.name.replace(/\W+/g, "-"), c.turns, { params: c.params, webhookUrl: c.webhookUrl }, c.objective);
      const run = await sys.api(`/goals/${goal.id}/run`, { method: "POST" });
      expect(run.status).toBe(202);
      return { c, runId: run.body.id as string };
    }),
  );
  const failures: string[] = [];
  const outcomes: string[] = [];
  let stuck = 0;
  for (const { c, runId } of started) {
    const run = await waitEnded(runId).catch(() => null);
    if (!run) {
      stuck++;
      failures.push(`${c.name}: still not ended`);
      continue;
    }
    const steps = await stepsOf(sys, runId);
    if (!contiguous(steps)) failures.push(`${c.name}: step numbers ${steps.map((s) => s.stepNo)}`);
    // A failed run must say why, in words a user can act on.
    if (run.status === "failed" && !(run.error && run.error.length > 10)) failures.push(`${c.name}: failed without a reason`);
    const broken = await c.check(run, steps);
    if (broken) failures.push(`${c.name}: ${broken} (run ${run.status}/${run.endReason}: ${run.error ?? ""})`);
    outcomes.push(`${run.status}${run.status === "failed" ? ` (${c.name})` : ""}`);
  }
  return { failures, stuck, outcomes };
}

const completedWith =
  (...tools: string[]) =>
  (run: Run, steps: Step[]) =>
    run.status !== "completed" ? `expected completed` : steps.map((s) => s.toolName).join() !== tools.join() ? `steps ${steps.map((s) => s.toolName)}` : null;

describe("scenario 5: LLM faults", () => {
  it("429, 500s, a hang, a dropped connection, bad JSON, an unknown tool, empty choices, 12 parallel calls: each run ends completed or failed with its reason", async () => {
    const pages = fakeUrl("pages");
    const twelve = Array.from({ length: 12 }, (_, i) =>
      i % 3 === 0
        ? { name: "fetch_page", arguments: { url: `${pages}/article/${i + 1}` } }
        : i % 3 === 1
          ? { name: "write_file", arguments: { path: `parallel/${i}.md`, content: `# ${i}` } }
          : { name: "remember", arguments: { content: `fact ${i}` } },
    );
    const cases: Case[] = [
      { name: "429 with Retry-After", turns: [{ ...finishTurn, faults: [{ status: 429, retryAfter: 2 }] }], check: completedWith("finish") },
      { name: "two 500s", turns: [{ ...finishTurn, faults: [{ status: 500 }, { status: 500 }] }], check: completedWith("finish") },
      {
        name: "500 on every attempt",
        turns: [{ ...finishTurn, faults: Array.from({ length: 10 }, () => ({ status: 500 })) }],
        check: (run) =>
          run.status === "failed" && /HTTP 500/.test(run.error ?? "") && /gave up after \d+ attempts/.test(run.error ?? "")
            ? null
            : "expected failed: HTTP 500, gave up",
      },
      {
        // The provider never answers: the run's time budget ends the turn, and the run closes out.
        name: "a hanging response",
        params: { timeBudgetSeconds: 20 },
        turns: [{ ...finishTurn, faults: [{ hang: true }] }],
        check: (run) =>
          ENDED.includes(run.status) && (run.endReason === "budget_exhausted" || !!run.error) ? null : "expected a budget close-out or a reason",
      },
      { name: "a dropped connection", turns: [{ ...finishTurn, faults: [{ drop: true }, { drop: true }] }], check: completedWith("finish") },
      {
        name: "malformed tool-call JSON",
        turns: [{ toolCalls: [{ name: "remember", arguments: {} }], rawArguments: { 0: '{"content": "unterminated' } }, finishTurn],
        check: (run, steps) =>
          completedWith("remember", "finish")(run, steps) ?? (/not valid JSON/.test(steps[0].error ?? "") ? null : `step 1 error: ${steps[0].error}`),
      },
      {
        name: "an unknown tool",
        turns: [{ toolCalls: [{ name: "launch_rockets", arguments: { count: 3 } }] }, finishTurn],
        check: (run, steps) =>
          completedWith("launch_rockets", "finish")(run, steps) ??
          (/unknown tool "launch_rockets"/.test(steps[0].error ?? "") ? null : `step 1 error: ${steps[0].error}`),
      },
      {
        name: "empty choices",
        turns: [{ ...finishTurn, emptyChoices: true }],
        check: (run) => (run.status === "failed" && /no choices/.test(run.error ?? "") ? null : "expected failed: the reply has no choices"),
      },
      {
        name: "a turn with 12 parallel calls",
        objective: Array.from({ length: 12 }, (_, i) => `${pages}/article/${i + 1}`).join(" "),
        turns: [{ toolCalls: twelve }, finishTurn],
        check: completedWith(...twelve.map((c) => c.name), "finish"),
      },
    ];
    const { failures, stuck, outcomes } = await runCases(cases);
    record({
      scenario: "5 LLM faults",
      trials: cases.length,
      passed: cases.length - failures.length,
      stuck,
      figures:
        ["completed", "failed"].map((st) => `${st}: ${outcomes.filter((o) => o.startsWith(st)).length}`).join(", ") +
        ` — failed with the reason: ${outcomes
          .filter((o) => o.startsWith("failed"))
          .map((o) => o.slice(8, -1))
          .join(", ")}`,
    });
    expect(failures).toEqual([]);
  });
});

describe("scenario 6: tool faults", () => {
  it("a page that never finishes, a 2 GB body, a redirect loop, a receiver answering 500 then 200, an MCP server that goes away: the runs complete, the failures are observations", async () => {
    const pages = fakeUrl("pages");
    const hookKey = `error-once-${Date.now().toString(36)}`;
    const fetchOf = (path: string): Case => ({
      name: `fetch_page ${path}`,
      objective: `${pages}${path}`,
      turns: [{ toolCalls: [{ name: "fetch_page", arguments: { url: `${pages}${path}` } }] }, finishTurn],
      check: (run, steps) => completedWith("fetch_page", "finish")(run, steps),
    });
    const cases: Case[] = [
      {
        ...fetchOf("/never-ends"),
        check: (run, steps) =>
          completedWith("fetch_page", "finish")(run, steps) ?? (/time|abort/i.test(steps[0].error ?? "") ? null : `step 1: ${steps[0].error}`),
      },
      {
        ...fetchOf("/two-gigabytes"),
        // Read up to the 2 MB cap and cut there (the fake generates the rest only if it is read).
        check: (run, steps) =>
          completedWith("fetch_page", "finish")(run, steps) ??
          (/download cut at 2 MB/.test(`${steps[0].error} ${steps[0].observation}`)
            ? null
            : `step 1: ${steps[0].error ?? steps[0].observation?.slice(0, 200)}`),
      },
      {
        ...fetchOf("/redirect/loop"),
        check: (run, steps) =>
          completedWith("fetch_page", "finish")(run, steps) ?? (/redirect/i.test(steps[0].error ?? "") ? null : `step 1: ${steps[0].error}`),
      },
      {
        name: "a webhook receiver answering 500 then 200",
        webhookUrl: hookUrl(hookKey),
        turns: [{ toolCalls: [{ name: "send_webhook", arguments: { payload: { hello: "world" } } }] }, finishTurn],
        check: async (run, steps) => {
          const bad = completedWith("send_webhook", "finish")(run, steps);
          if (bad) return bad;
          // The tool's message and the completion event: each retried once under the same id, then delivered.
          const seen = await poll(
            async () => {
              const d = await deliveries(hookKey);
              return d.filter((a) => a.status === 204).length >= 2 ? d : undefined;
            },
            { ms: 30_000, what: "both webhooks delivered" },
          );
          const byId = Map.groupBy(seen, (a) => a.webhookId);
          const shape = [...byId.values()].map((a) => a.map((x) => x.status).join(">"));
          if (byId.size !== 2 || shape.some((s) => s !== "500>204")) return `receiver saw ${shape}`;
          return seen.every((a) => a.libraryVerified) ? null : "a delivery did not verify";
        },
      },
    ];
    const mcp = await mcpDisappearing();
    const { failures, stuck } = await runCases(cases);
    failures.push(...mcp.failures);
    record({
      scenario: "6 tool faults",
      trials: cases.length + mcp.trials,
      passed: cases.length + mcp.trials - failures.length,
      stuck: stuck + mcp.stuck,
      figures: "incl. an MCP server stopped during a run, and a run started after it went",
    });
    expect(failures).toEqual([]);
  });
});

/**
 * An MCP server (the SDK's own server, test/fakes/mcp.ts) registered and answering, then stopped while a run
 * waits on the model: the run's next call of its tool fails as an observation and the run completes; a run
 * started after the server went completes too, without its tools.
 */
async function mcpDisappearing(): Promise<{ trials: number; failures: string[]; stuck: number }> {
  const control = fakeUrl("mcp");
  const server = (await (await fetch(`${control}/servers`, { method: "POST", body: "{}" })).json()) as { id: string; url: string };
  const name = `gone-${Date.now().toString(36).slice(-6)}`;
  const registered = await sys.api("/mcp-servers", { body: { name, url: `${server.url}/mcp` } });
  expect(registered.status, JSON.stringify(registered.body)).toBe(201);
  const lookup = (query: string) => ({ name: `${name}__lookup`, arguments: { query } });
  const first = await goalWith("mcp-gone", [{ toolCalls: [lookup("before")] }, { toolCalls: [lookup("after")], delayMs: 4000 }, finishTurn], {
    params: { mcpServers: [name] },
  });
  const run = (await sys.api(`/goals/${first.id}/run`, { method: "POST" })).body as { id: string };
  // Stopped once the first call has answered, while the model "thinks" about the second.
  await poll(async () => ((await stepsOf(sys, run.id)).length >= 1 ? true : undefined), { ms: 30_000, what: "the first MCP call" });
  await fetch(`${control}/servers/${server.id}/stop`, { method: "POST" });
  const failures: string[] = [];
  let stuck = 0;
  const ended = await waitEnded(run.id).catch(() => null);
  const steps = await stepsOf(sys, run.id);
  if (!ended) stuck++;
  else if (ended.status !== "completed" || steps.map((s) => s.toolName).join() !== `${name}__lookup,${name}__lookup,finish`)
    failures.push(`MCP stopped mid-run: ${ended.status} ${ended.error ?? ""} ${steps.map((s) => s.toolName)}`);
  else if (steps[0].error || !steps[1].error) failures.push(`MCP stopped mid-run: first call ${steps[0].error ?? "ok"}, second ${steps[1].error ?? "ok"}`);
  const later = await goalWith("mcp-gone-later", [{ toolCalls: [lookup("later")] }, finishTurn], { params: { mcpServers: [name] } });
  const second = (await sys.api(`/goals/${later.id}/run`, { method: "POST" })).body as { id: string };
  const after = await waitEnded(second.id).catch(() => null);
  if (!after) stuck++;
  else if (!(after.status === "completed" || (after.status === "failed" && after.error)))
    failures.push(`MCP gone before the run: ${after.status} without a reason`);
  return { trials: 2, failures, stuck };
}

describe("scenario 4: duplicate deliveries", () => {
  const counts = { trials: 0, passed: 0, duplicated: 0, lost: 0 };
  afterAll(() => record({ scenario: "4 duplicate delivery", ...counts, figures: figures.join("; ") }));
  const figures: string[] = [];
  /** Runs started on the run-now path (the API hands them to the agent, and their queue message does again). */
  const handedOver: string[] = [];
  const tally = (ok: boolean, dup: boolean) => {
    counts.trials++;
    if (ok) counts.passed++;
    if (dup) counts.duplicated++;
    else if (!ok) counts.lost++;
  };

  it("the same cron minute fired twice at once (and once more) starts one run per goal and fire time", async () => {
    const goals = await Promise.all([1, 2, 3].map((i) => goalWith(`cron-twice-${i}`, [finishTurn], { schedule: { cron: "* * * * *", timezone: "UTC" } })));
    // The tick for the minute all three are due (created in the same minute, they share it; else the later one).
    const fireAt = Math.max(...goals.map((g) => Date.parse(g.nextRunAt!)));
    const tick = () => fetch(`${sys.url()}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent("* * * * *")}&time=${fireAt}`).then((r) => r.status);
    expect(await Promise.all([tick(), tick()])).toEqual([200, 200]);
    expect(await tick()).toBe(200);
    for (const g of goals) {
      const runs = (await sys.api(`/runs?goalId=${g.id}`)).body.items as { id: string; trigger: string; scheduledFor: string }[];
      const ended = await Promise.all(runs.map((r) => waitEnded(r.id)));
      // Its own fire time, or (created across a minute boundary from the others) the tick's minute.
      const fired = (r: { scheduledFor: string }) => [g.nextRunAt, new Date(fireAt).toISOString()].includes(r.scheduledFor);
      const ok = runs.length === 1 && fired(runs[0]) && ended[0].status === "completed";
      tally(ok, runs.length > 1);
      expect(runs.map((r) => [r.trigger, fired(r)])).toEqual([["schedule", true]]);
    }
  });

  it("run-now sent three times with one Idempotency-Key (two at once) starts one run", async () => {
    const goal = await goalWith("run-now-twice", [finishTurn]);
    const send = () => sys.api(`/goals/${goal.id}/run`, { method: "POST", headers: { "idempotency-key": `e2e-${goal.id}` } });
    const answers = [...(await Promise.all([send(), send()])), await send()];
    const runs = (await sys.api(`/runs?goalId=${goal.id}`)).body.items as { id: string }[];
    const ended = runs.length ? await waitEnded(runs[0].id) : null;
    tally(runs.length === 1 && ended?.status === "completed", runs.length > 1);
    handedOver.push(...runs.map((r) => r.id));
    expect(answers.map((a) => a.status).filter((s) => s === 202).length).toBeGreaterThanOrEqual(1);
    expect(answers.every((a) => a.status === 202 || a.status === 409)).toBe(true);
    expect(runs).toHaveLength(1);
  });

  it("an inbound webhook delivered twice at once, and again later, starts one run", async () => {
    const goal = await goalWith("hook-twice", [finishTurn]);
    const trigger = await sys.api(`/goals/${goal.id}/trigger`, { method: "POST" });
    expect(trigger.status).toBe(201);
    const path = new URL(trigger.body.url).pathname;
    const body = JSON.stringify({ type: "form.submitted", company: "Example Corp" });
    const id = `msg_e2e_${Date.now()}`;
    const deliver = () => {
      const signature = new Webhook(trigger.body.secret).sign(id, new Date(), body);
      return sys.api(path, {
        token: null,
        body,
        headers: { "webhook-id": id, "webhook-timestamp": String(Math.floor(Date.now() / 1000)), "webhook-signature": signature },
      });
    };
    const answers = [...(await Promise.all([deliver(), deliver()])), await deliver()];
    // One delivery starts the run (202); the others are answered with that run as a replay (200).
    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 202]);
    expect(new Set(answers.map((a) => a.body.runId)).size).toBe(1);
    const runs = (await sys.api(`/runs?goalId=${goal.id}`)).body.items as { id: string }[];
    const ended = await waitEnded(runs[0].id);
    tally(runs.length === 1 && ended.status === "completed", runs.length > 1);
    handedOver.push(...runs.map((r) => r.id));
    expect(runs).toHaveLength(1);
  });

  it("each run is handed to its agent more than once (run-now hands over directly and by queue message) and runs once", async () => {
    // Every hand-over is logged with the agent's answer (started, resumed, running, ended).
    const handovers = () =>
      sys
        .dev()
        .logs()
        .split("\n")
        .filter((l) => l.includes('"at":"queue"') && l.includes('"runId"'))
        .map((l) => JSON.parse(l.slice(l.indexOf("{"))) as { runId: string; state: string });
    // The queue message arrives after the batch window: wait for the second hand-over of the run-now runs.
    const all = await poll(
      async () => {
        const h = handovers();
        return handedOver.every((id) => h.filter((x) => x.runId === id).length >= 2) ? h : undefined;
      },
      { ms: 30_000, what: "the queue's hand-over of the run-now runs" },
    );
    const perRun = Map.groupBy(all, (h) => h.runId);
    const repeatedRuns = [...perRun.values()].filter((h) => h.length > 1);
    const startedTwice = [...perRun.values()].filter((h) => h.filter((x) => x.state === "started").length > 1);
    figures.push(`${repeatedRuns.length} of ${perRun.size} runs handed to their agent 2+ times (${all.length} hand-overs), none started twice`);
    tally(startedTwice.length === 0 && repeatedRuns.length > 0, startedTwice.length > 0);
    expect(repeatedRuns.length).toBeGreaterThan(0);
    expect(startedTwice).toEqual([]);
  });
});
