/**
 * Scenario 2, restart mid-run: runs of six shapes are in flight when the whole `wrangler dev` process group is
 * SIGKILLed — inside a slow LLM response, inside a slow tool call, between quick steps, inside a turn of parallel
 * calls, just after run-now, and pending behind a slow run of its goal (overlap "queue": its queue message is in
 * memory) — and wrangler dev starts again on the same `--persist-to` state. Every run must end `completed` with
 * its steps numbered 1..n in the scripted order, and every side effect must have happened exactly once where a
 * user observes it: one file each, one webhook-id per send at the receiver, one email at the provider, one run
 * per run-now, and no model turn asked for past the run's end.
 *
 * What brings runs back: an interrupted fiber is found by the Durable Object's alarm (the agents SDK's
 * keep-alive heartbeat, every 30 s), so a run resumes within about a minute of the restart; a run whose queue
 * message died with the process (Miniflare keeps queue messages in memory) is re-sent by the reaper once it has
 * been pending for RUN_HEARTBEAT_TIMEOUT_SECONDS, which the cron tick runs. Here the cron is fired every 10 s
 * (Cloudflare fires it every minute) and the timeout is 45 s, to keep the suite short.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { percentile } from "../../bench/lib/dev-server.ts";
import type { FakeReply } from "../fakes/llm.ts";
import { contiguous, deliveries, emailsSent, hookUrl, repeated, stepsOf } from "./lib/effects.ts";
import { record } from "./lib/report.ts";
import { ENDED, fakeUrl, poll, scriptLlm, startSystem, suiteVars, type System } from "./lib/system.ts";

const HEARTBEAT_TIMEOUT_S = 45;
/** From the restart to every run of the round ended: alarm (≤ 30 s) + reaper (45 s + a tick) + the rest of the work. */
const ROUND_DEADLINE_MS = 240_000;

type Call = { name: string; arguments: Record<string, unknown> };
/** `queuedBehind`: the run is the second of an overlap-"queue" goal whose first run is the shape before it. */
type Shape = { kind: string; turns: FakeReply[]; objectiveExtra?: string; startLate?: boolean; queuedBehind?: boolean };

/** The scripted runs of one round; `t` makes paths, subjects and hook keys unique per trial. */
function shapes(t: (i: number) => string): Shape[] {
  const pages = fakeUrl("pages");
  const file = (i: number, n = "") => ({ name: "write_file", arguments: { path: `reports/${t(i)}${n}.md`, content: `# ${t(i)}${n}\n` } });
  const hook = (i: number): Call => ({ name: "send_webhook", arguments: { payload: { trial: t(i) } } });
  const email = (i: number): Call => ({ name: "send_email", arguments: { to: "team@example.com", subject: t(i), body_markdown: `Report ${t(i)}` } });
  const finish: Call = { name: "finish", arguments: { summary: "Done." } };
  const slowLlm = (i: number): Shape => ({
    kind: "inside a slow LLM response",
    turns: [{ toolCalls: [file(i)] }, { toolCalls: [hook(i)], delayMs: 20_000, delayTimes: 1 }, { toolCalls: [email(i)] }, { toolCalls: [finish] }],
  });
  const slowTool = (i: number): Shape => ({
    kind: "inside a slow tool call",
    objectiveExtra: `${pages}/slow/20000`,
    turns: [
      { toolCalls: [file(i)] },
      { toolCalls: [{ name: "fetch_page", arguments: { url: `${pages}/slow/20000` } }] },
      { toolCalls: [hook(i)] },
      { toolCalls: [email(i)] },
      { toolCalls: [finish] },
    ],
  });
  const quickSteps = (i: number, delayMs: number): Shape => ({
    kind: "between quick steps",
    turns: [file(i, "-a"), { name: "remember", arguments: { content: `seen ${t(i)}` } }, file(i, "-b"), hook(i), email(i), finish].map((c) => ({
      toolCalls: [c],
      delayMs,
    })),
  });
  const parallel = (i: number): Shape => ({
    kind: "inside a turn of parallel calls",
    objectiveExtra: `${pages}/slow/15000`,
    turns: [
      { toolCalls: [file(i, "-a"), file(i, "-b"), hook(i), { name: "fetch_page", arguments: { url: `${pages}/slow/15000` } }] },
      { toolCalls: [email(i)] },
      { toolCalls: [finish] },
    ],
  });
  const justStarted = (i: number): Shape => ({
    kind: "just after run-now",
    startLate: true,
    turns: [{ toolCalls: [file(i)] }, { toolCalls: [hook(i), email(i)] }, { toolCalls: [finish] }],
  });
  // Pending at the kill: its queue message (re-sent every 30 s while it waits) dies with the process, and the
  // reaper re-sends it once the slow run before it has ended.
  const queued = (i: number): Shape => ({ ...justStarted(i), kind: "pending behind a slow run (overlap queue)", startLate: false, queuedBehind: true });
  return [
    slowLlm(0),
    slowLlm(1),
    slowTool(2),
    slowTool(3),
    quickSteps(4, 800),
    quickSteps(5, 1200),
    quickSteps(6, 1600),
    parallel(7),
    parallel(8),
    justStarted(9),
    justStarted(10),
    justStarted(11),
    slowLlm(12),
    queued(13),
  ];
}

type Trial = { name: string; shape: Shape; key: string; goalId: string; runId: string; hookKey: string; expected: string[]; endedBeforeKill: boolean };

/** The turn numbers the fake LLM was asked for under a script key (a retried or resumed turn repeats its number). */
async function turnsAsked(key: string): Promise<number[]> {
  return ((await (await fetch(`${fakeUrl("llm")}/__stats/${key}`)).json()) as { turns: number[] } | null)?.turns ?? [];
}
type Outcome = { trial: Trial; status: string; error: string | null; problems: string[]; recoveredMs: number | null };

let sys: System;
let ticker: NodeJS.Timeout | undefined;

beforeAll(async () => {
  sys = await startSystem(suiteVars({ RUN_HEARTBEAT_TIMEOUT_SECONDS: String(HEARTBEAT_TIMEOUT_S) }));
  // The cron, as `npm run dev` fires it (more often here): each tick runs the reaper. Failures while the
  // server is down are expected and ignored.
  ticker = setInterval(() => {
    fetch(`${sys.url()}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent("* * * * *")}&time=${Date.now()}`, { signal: AbortSignal.timeout(8000) }).catch(
      () => {},
    );
  }, 10_000);
});

afterAll(async () => {
  clearInterval(ticker);
  await sys?.stop();
});

describe("scenario 2: restart mid-run", () => {
  const outcomes: Outcome[] = [];
  const recoveries: number[] = [];
  const atKill = { pending: 0, running: 0 };
  let notTrials = 0;

  afterAll(() => {
    const by = (f: (o: Outcome) => boolean) => outcomes.filter(f).length;
    const sorted = [...recoveries].sort((a, b) => a - b);
    record({
      scenario: "2 restart mid-run (SIGKILL of the process group)",
      trials: outcomes.length,
      passed: by((o) => o.status === "completed" && !o.problems.length),
      lost: by((o) => ["failed", "cancelled", "skipped"].includes(o.status) || o.problems.some((p) => p.startsWith("lost"))),
      duplicated: by((o) => o.problems.some((p) => p.startsWith("duplicated"))),
      stuck: by((o) => !ENDED.includes(o.status)),
      figures: [
        `at the kill ${atKill.running} running, ${atKill.pending} pending`,
        sorted.length ? `progress after restart p50 ${(percentile(sorted, 50) / 1000).toFixed(0)} s, max ${(sorted.at(-1)! / 1000).toFixed(0)} s` : "",
        notTrials ? `${notTrials} runs ended before the kill (not counted)` : "",
      ]
        .filter(Boolean)
        .join("; "),
    });
  });

  async function startTrials(round: number, late: boolean): Promise<Trial[]> {
    const list = shapes((i) => `r${round}-t${i}-${Date.now().toString(36)}`).filter((s) => !!s.startLate === late);
    const goals: { id: string; hookKey: string }[] = [];
    const trials: Trial[] = [];
    // One at a time, so a queued run's goal (the previous trial's) exists and its first run started before it.
    for (const [i, shape] of list.entries()) {
      const name = `round ${round} ${shape.kind} #${i}`;
      const { marker, key } = await scriptLlm("restart", { turns: shape.turns });
      let goal = goals.at(-1);
      if (!shape.queuedBehind) {
        const hookKey = `restart-${round}-${late ? "late" : "early"}-${i}-${Date.now().toString(36)}`;
        const next = list[i + 1]?.queuedBehind;
        // A goal shared by two runs picks each run's script from its input (the fake LLM takes the first marker).
        const created = await sys.api("/goals", {
          body: { objective: `Restart trial ${shape.objectiveExtra ?? ""}`, webhookUrl: hookUrl(hookKey), params: next ? { overlap: "queue" } : undefined },
        });
        expect(created.status, JSON.stringify(created.body)).toBe(201);
        goal = { id: created.body.id, hookKey };
        goals.push(goal);
      }
      const run = await sys.api(`/goals/${goal!.id}/run`, { method: "POST", body: { input: `Follow ${marker}` } });
      expect(run.status, JSON.stringify(run.body)).toBe(202);
      const expected = shape.turns.flatMap((r) => (r.toolCalls ?? []).map((c) => c.name));
      trials.push({ name, shape, key, goalId: goal!.id, runId: run.body.id, hookKey: goal!.hookKey, expected, endedBeforeKill: false });
    }
    return trials;
  }

  async function runsNow(): Promise<Map<string, { status: string; stepsExecuted: number }>> {
    const res = await sys.api("/runs?limit=100");
    return new Map((res.body.items as { id: string; status: string; stepsExecuted: number }[]).map((r) => [r.id, r]));
  }

  /** Everything a user could observe about one trial's run, checked against its script. */
  async function judge(trial: Trial, all: Trial[], status: string, error: string | null, recoveredMs: number | null): Promise<Outcome> {
    const siblings = all.filter((t) => t.goalId === trial.goalId);
    const problems: string[] = [];
    const steps = await stepsOf(sys, trial.runId);
    if (!contiguous(steps)) problems.push(`duplicated/lost steps: numbers ${steps.map((s) => s.stepNo).join(",")}`);
    const names = steps.map((s) => s.toolName);
    if (status === "completed" && names.join() !== trial.expected.join())
      problems.push(`lost/duplicated steps: ${names.join()} (expected ${trial.expected.join()})`);
    const files = (await sys.api(`/goals/${trial.goalId}/files`)).body.items.map((f: { path: string }) => f.path);
    const expectedFiles = siblings.flatMap((t) =>
      t.shape.turns.flatMap((r) => (r.toolCalls ?? []).filter((c) => c.name === "write_file").map((c) => (c.arguments as { path: string }).path)),
    );
    if (status === "completed" && [...files].sort().join() !== [...expectedFiles].sort().join())
      problems.push(`lost files: ${files} (expected ${expectedFiles})`);
    const outputs = (await sys.api(`/runs/${trial.runId}/outputs`)).body.items as {
      kind: string;
      path: string | null;
      payload: { webhookId?: string } | null;
    }[];
    const fileOutputs = repeated(outputs.filter((o) => o.kind === "file").map((o) => o.path));
    if (fileOutputs.length) problems.push(`duplicated file outputs: ${fileOutputs}`);
    // The ended status is written before its webhook goes out: wait (bounded) for that delivery before judging.
    const endedId = `msg_${trial.runId}_ended`;
    const seen =
      (await poll(
        async () => {
          const d = await deliveries(trial.hookKey);
          return d.some((x) => x.webhookId === endedId) ? d : undefined;
        },
        { ms: 20_000, what: `run ${trial.runId}'s run-ended webhook` },
      ).catch(() => null)) ?? (await deliveries(trial.hookKey));
    if (seen.some((d) => !d.libraryVerified)) problems.push("a webhook delivery failed Standard Webhooks verification");
    const ids = [...new Set(seen.map((d) => d.webhookId))].filter((id) => id.startsWith(`msg_${trial.runId}_`));
    const sendSteps = steps.filter((s) => s.toolName === "send_webhook").map((s) => `msg_${trial.runId}_${s.stepNo}`);
    const expectedIds = [...sendSteps, `msg_${trial.runId}_ended`];
    if (ids.length > expectedIds.length || ids.some((id) => !expectedIds.includes(id)))
      problems.push(`duplicated webhooks: ids ${ids} (expected ${expectedIds})`);
    if (status === "completed" && ids.length < expectedIds.length) problems.push(`lost webhooks: ids ${ids} (expected ${expectedIds})`);
    const subject = (trial.shape.turns.flatMap((r) => r.toolCalls ?? []).find((c) => c.name === "send_email")!.arguments as { subject: string }).subject;
    const mails = (await emailsSent()).filter((m) => m.subject === subject).length;
    if (mails > 1) problems.push(`duplicated emails: ${mails}`);
    if (status === "completed" && mails === 0) problems.push("lost email");
    const runs = (await sys.api(`/runs?goalId=${trial.goalId}`)).body.items.length;
    if (runs !== siblings.length) problems.push(`duplicated runs: ${runs} (expected ${siblings.length})`);
    // A turn past the script's last means the run went on after it had ended (the model was asked again).
    const asked = await turnsAsked(trial.key);
    if (Math.max(...asked) > trial.shape.turns.length) problems.push(`duplicated model turns: asked for turns ${asked}`);
    return { trial, status, error, problems, recoveredMs };
  }

  async function round(round: number, killAfterMs: number, kills: number) {
    const early = await startTrials(round, false);
    // In position: every early run has started working (a step written or its first LLM call under way).
    await poll(
      async () => {
        const now = await runsNow();
        // A quick run may already have ended (it is counted apart, as ended before the kill).
        const inPlace = (t: (typeof early)[number], s: string | undefined) =>
          s === (t.shape.queuedBehind ? "pending" : "running") || s === "completed" || s === "failed" || s === "cancelled";
        return early.every((t) => inPlace(t, now.get(t.runId)?.status)) ? true : undefined;
      },
      { ms: 60_000, what: `round ${round}'s runs to start` },
    );
    await new Promise((r) => setTimeout(r, killAfterMs));
    const late = await startTrials(round, true);
    const trials = [...early, ...late];
    const before = await runsNow();
    for (const t of trials) t.endedBeforeKill = ENDED.includes(before.get(t.runId)?.status ?? "");
    let up = 0;
    for (let k = 0; k < kills; k++) {
      if (k > 0) await new Promise((r) => setTimeout(r, 8_000)); // the second kill lands while runs are being recovered
      await sys.restart("SIGKILL");
      up = Date.now();
    }
    // Until every run has ended (or the deadline): note when each made its first progress after the restart.
    const progressAt = new Map<string, number>();
    const last = new Map<string, { status: string; stepsExecuted: number }>();
    const deadline = up + ROUND_DEADLINE_MS;
    for (let i = 0; i < ROUND_DEADLINE_MS / 1000 && Date.now() < deadline; i++) {
      const now = await runsNow().catch(() => null);
      if (now) {
        for (const t of trials) {
          const r = now.get(t.runId);
          if (!r) continue;
          const b = before.get(t.runId);
          if (!progressAt.has(t.runId) && !t.endedBeforeKill && (r.stepsExecuted > (b?.stepsExecuted ?? 0) || ENDED.includes(r.status)))
            progressAt.set(t.runId, Date.now() - up);
          last.set(t.runId, r);
        }
        if (trials.every((t) => ENDED.includes(last.get(t.runId)?.status ?? ""))) break;
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
    for (const t of trials) {
      // A run that was over before the kill proves nothing about restarts: it is not counted as a trial.
      if (t.endedBeforeKill) {
        notTrials++;
        continue;
      }
      atKill[before.get(t.runId)?.status === "pending" ? "pending" : "running"]++;
      const r = (await sys.api(`/runs/${t.runId}`)).body;
      const rec = progressAt.get(t.runId) ?? null;
      if (rec !== null) recoveries.push(rec);
      outcomes.push(await judge(t, trials, r.status, r.error ?? null, rec));
    }
    const failures = outcomes.filter((o) => o.trial.name.startsWith(`round ${round} `) && (o.status !== "completed" || o.problems.length));
    expect(
      failures.map((o) => `${o.trial.name} (${o.trial.runId}): ${o.status}${o.error ? ` (${o.error})` : ""} ${o.problems.join("; ")}`),
      "every run completes once, with every side effect once",
    ).toEqual([]);
  }

  it("round 1: one kill a second after the runs started; 14 runs in six shapes all complete, nothing lost or duplicated", async () => {
    await round(1, 1_000, 1);
  }, 400_000);

  it("round 2: two kills (4 s in, and again 8 s after the restart, during recovery); 14 more runs all complete once", async () => {
    await round(2, 4_000, 2);
  }, 400_000);

  it("counted at least 20 runs that were unfinished when the process group was killed", () => {
    expect(outcomes.length).toBeGreaterThanOrEqual(20);
  });
});

describe("scenario 3: restart while waiting for approval", () => {
  it("runs waiting for approval survive a kill; approved once (twice at once, then a kill while resuming), each email is sent once, a denied one never", async () => {
    const N = 4;
    const tag = Date.now().toString(36);
    const trials = await Promise.all(
      Array.from({ length: N }, async (_, i) => {
        const subject = `approval-${tag}-${i}`;
        const hookKey = `approval-${tag}-${i}`;
        const { marker, key } = await scriptLlm("approval", {
          turns: [
            { toolCalls: [{ name: "write_file", arguments: { path: `reports/${subject}.md`, content: "# Draft\n" } }] },
            { toolCalls: [{ name: "send_email", arguments: { to: "team@example.com", subject, body_markdown: "The weekly report." } }] },
            { toolCalls: [{ name: "finish", arguments: { summary: "Reported." } }] },
          ],
        });
        const goal = await sys.api("/goals", {
          body: { objective: `Send the report once approved ${marker}`, webhookUrl: hookUrl(hookKey), params: { requireApproval: ["send_email"] } },
        });
        expect(goal.status, JSON.stringify(goal.body)).toBe(201);
        const run = await sys.api(`/goals/${goal.body.id}/run`, { method: "POST" });
        return { subject, hookKey, key, goalId: goal.body.id as string, runId: run.body.id as string };
      }),
    );
    const status = async (runId: string) =>
      (await sys.api(`/runs/${runId}`)).body as { status: string; waitingFor: { tool: string } | null; error: string | null };
    const allWaiting = async () =>
      (await Promise.all(trials.map((t) => status(t.runId)))).every((r) => r.status === "waiting" && r.waitingFor?.tool === "send_email") ? true : undefined;
    await poll(allWaiting, { ms: 60_000, what: "every run to wait for its approval" });
    const mails = async (subject: string) => (await emailsSent()).filter((m) => m.subject === subject).length;

    // A kill while they wait: they are still waiting afterwards, and nothing was sent.
    await sys.restart("SIGKILL");
    expect(await allWaiting()).toBe(true);
    expect(await Promise.all(trials.map((t) => mails(t.subject)))).toEqual([0, 0, 0, 0]);

    // Two approvals at once for runs 0 and 1 (one wins), a denial for run 2; then a kill while they resume.
    const decide = (runId: string, decision: string) => sys.api(`/runs/${runId}/approval`, { body: { decision } }).then((r) => r.status);
    const twice = await Promise.all([0, 1].flatMap((i) => [decide(trials[i].runId, "approve"), decide(trials[i].runId, "approve")]));
    expect([twice.slice(0, 2).sort(), twice.slice(2).sort()]).toEqual([
      [202, 409],
      [202, 409],
    ]);
    expect(await decide(trials[2].runId, "deny")).toBe(202);
    await sys.restart("SIGKILL");
    expect(await decide(trials[3].runId, "approve")).toBe(202);

    const problems: string[] = [];
    let stuck = 0;
    let duplicated = 0;
    let passed = 0;
    for (const [i, t] of trials.entries()) {
      const end = await poll(
        async () => {
          const r = await status(t.runId);
          return ENDED.includes(r.status) ? r : undefined;
        },
        { ms: ROUND_DEADLINE_MS, every: 1000, what: `approval run ${i} to end` },
      ).catch(() => null);
      if (!end) {
        stuck++;
        problems.push(`run ${i}: still ${(await status(t.runId)).status}`);
        continue;
      }
      const steps = await stepsOf(sys, t.runId);
      const asked = await turnsAsked(t.key);
      const sent = await mails(t.subject);
      const want = i === 2 ? 0 : 1;
      // The ended status is written before its webhook goes out: wait (bounded) for run.completed first.
      const hookList =
        (await poll(
          async () => {
            const d = await deliveries(t.hookKey);
            return d.some((x) => (x.body as { type: string }).type === "run.completed") ? d : undefined;
          },
          { ms: 20_000, what: `run ${i}'s run.completed webhook` },
        ).catch(() => null)) ?? (await deliveries(t.hookKey));
      const hooks = Map.groupBy(hookList, (d) => (d.body as { type: string }).type);
      const onePerType = [...hooks.values()].every((list) => new Set(list.map((d) => d.webhookId)).size === 1);
      if (sent > want || !onePerType) duplicated++;
      const ok =
        end.status === "completed" &&
        contiguous(steps) &&
        steps.map((s) => s.toolName).join() === "write_file,send_email,finish" &&
        Math.max(...asked) <= 3 &&
        sent === want &&
        onePerType &&
        hooks.has("run.waiting") &&
        hooks.has("run.completed") &&
        (i !== 2 || /denied/.test(`${steps[1].observation} ${steps[1].error}`));
      if (ok) passed++;
      else
        problems.push(
          `run ${i} ${t.runId}: ${end.status} ${end.error ?? ""}; steps ${JSON.stringify(steps.map((s) => [s.stepNo, s.toolName, s.error, s.observation?.slice(0, 100)]))}; emails ${sent} (want ${want}); webhooks ${[...hooks].map(([k, v]) => `${k}×${new Set(v.map((d) => d.webhookId)).size}`)}; model asked for turns ${asked}`,
        );
    }
    record({
      scenario: "3 restart while waiting for approval",
      trials: N,
      passed,
      lost: N - passed - stuck - duplicated,
      duplicated,
      stuck,
      figures: "2 kills: while waiting, and while approved runs resumed",
    });
    expect(problems).toEqual([]);
  }, 400_000);
});
