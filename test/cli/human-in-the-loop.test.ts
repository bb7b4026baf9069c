/**
 * A person in the loop from the CLI, against the real Worker (`wrangler dev` from global setup) and the
 * scripted fake LLM: a run that waits for an approval or an answer is listed, shown and watched with the
 * command that decides it; `run approve | deny | answer` decide; a second decision is a clear exit 1;
 * `update_plan` becomes a checklist in `run watch`.
 */
import { afterAll, describe, expect, inject, it, vi } from "vitest";
import { TEST_API_TOKEN } from "../bindings";
import { type CliResult, hasEscapes, removeTempDirs, runCli, tempHome } from "./run-cli";

const url = inject("cliWorkerUrl");
const home = tempHome();
const env = { ASYNC_AGENT_URL: url, ASYNC_AGENT_TOKEN: TEST_API_TOKEN };
const cli = (...args: string[]) => runCli(args, { home, env });
afterAll(removeTempDirs);

function ok(r: CliResult): CliResult {
  if (r.code !== 0) throw new Error(`exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  expect(hasEscapes(r.stdout + r.stderr)).toBe(false);
  return r;
}
const json = <T = any>(r: CliResult): T => JSON.parse(ok(r).stdout) as T;

let n = 0;
/** A goal whose runs follow `turns` (the fake LLM's script, keyed by a marker in the objective), and one run of it. */
async function startRun(turns: unknown[], ...flags: string[]): Promise<{ goalId: string; runId: string }> {
  const key = `cli-hitl-${Date.now().toString(36)}-${++n}`;
  const res = await fetch(`http://127.0.0.1:${inject("fakePorts").llm}/__scripts`, { method: "POST", body: JSON.stringify({ key, script: { turns } }) });
  expect(res.ok).toBe(true);
  const goal = json(await cli("goal", "create", "--objective", `Post the weekly numbers [script:${key}]`, ...flags, "--json"));
  const run = json(await cli("goal", "run", goal.id, "--json"));
  return { goalId: goal.id, runId: run.id };
}

/** The run as the API has it, once `check` accepts it. */
async function runWhen(runId: string, check: (run: any) => boolean): Promise<any> {
  return vi.waitFor(
    async () => {
      const run: any = await (await fetch(`${url}/api/v1/runs/${runId}`, { headers: { authorization: `Bearer ${TEST_API_TOKEN}` } })).json();
      if (!check(run)) throw new Error(`run ${runId} is ${run.status}`);
      return run;
    },
    { timeout: 40_000, interval: 200 },
  );
}
const waiting = (runId: string) => runWhen(runId, (r) => r.status === "waiting");
const ended = (runId: string) => runWhen(runId, (r) => ["completed", "failed", "cancelled"].includes(r.status));

const call = (name: string, args: unknown) => ({ name, arguments: args });
const plan = (...items: [string, string][]) => call("update_plan", { items: items.map(([title, status]) => ({ title, status })) });

describe("approvals from the CLI", () => {
  it("run watch shows the plan and the wait with the command to decide; run list --status waiting lists it; run approve lets it complete", async () => {
    const { goalId, runId } = await startRun(
      [
        { toolCalls: [plan(["Note the numbers", "in_progress"], ["Report them", "pending"]), call("remember", { content: "numbers are ready" })] },
        { toolCalls: [plan(["Note the numbers", "done"], ["Report them", "done"])] },
        { toolCalls: [call("finish", { summary: "Noted and reported." })] },
      ],
      "--require-approval",
      "remember",
    );
    // Watching from the start: the run waits, and the watch goes on until someone decides.
    let sawWait: () => void = () => undefined;
    const waitShown = new Promise<void>((resolve) => (sawWait = resolve));
    let out = "";
    const watching = runCli(["run", "watch", runId], {
      home,
      env,
      timeoutMs: 55_000,
      onStdout: (chunk) => {
        out += chunk;
        if (out.includes(`run approve ${runId}`)) sawWait();
      },
    });
    await waitShown;

    const listed = json(await cli("run", "list", "--status", "waiting", "--goal", goalId, "--json"));
    expect(listed.items.map((r: { id: string; status: string }) => [r.id, r.status])).toEqual([[runId, "waiting"]]);
    expect(ok(await cli("run", "list", "--status", "waiting", "--goal", goalId)).stdout).toMatch(
      new RegExp(`^${runId}\\s+⚑ waiting\\s+manual\\s+\\d+/20`, "m"),
    );
    const shown = ok(await cli("run", "show", runId)).stdout;
    expect(shown).toMatch(/^status\s+⚑ waiting$/m);
    expect(shown).toMatch(
      new RegExp(`^⚑ run ${runId} waits for your approval to call remember · expires in 24 hours \\(\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC\\)$`, "m"),
    );
    expect(shown).toContain('    {\n      "content": "numbers are ready"\n    }\n');
    expect(shown).toContain(`  approve: async-agent run approve ${runId}\n  deny:    async-agent run deny ${runId} --note "<why>"\n`);
    expect(shown).toContain("Plan 0/2 done\n  [~] Note the numbers\n  [ ] Report them\n");
    expect(json(await cli("run", "show", runId, "--json"))).toMatchObject({
      status: "waiting",
      waitingFor: { kind: "approval", tool: "remember", input: { content: "numbers are ready" } },
      plan: { items: [{ title: "Note the numbers", status: "in_progress" }, { status: "pending" }] },
    });

    const approved = ok(await cli("run", "approve", runId, "--note", "go ahead"));
    expect(approved.stdout).toMatch(new RegExp(`^✓ approved: run ${runId} goes on \\((pending|running)\\)\\nfollow it: async-agent run watch ${runId}\\n$`));

    const watched = await watching;
    expect(watched.code, watched.stderr).toBe(0);
    expect(hasEscapes(watched.stdout + watched.stderr)).toBe(false);
    const o = watched.stdout;
    const at = (s: string) => {
      const i = o.indexOf(s);
      expect(i, `${JSON.stringify(s)} in:\n${o}`).toBeGreaterThanOrEqual(0);
      return i;
    };
    // In order: the first plan, the wait with its commands, then the decision and the last plan (the stream
    // tells what it finds at each poll: the run may be past its next plan update when it sees it resumed), the end.
    const first = at("Plan 0/2 done\n  [~] Note the numbers\n  [ ] Report them\n");
    const wait = at(`⚑ run ${runId} waits for your approval to call remember`);
    const cmd = at(`  approve: async-agent run approve ${runId}\n`);
    const after = [at(`▶ decided: run ${runId} goes on\n`), at("Plan 2/2 done\n  [x] Note the numbers\n  [x] Report them\n")];
    const end = at("✓ completed");
    expect(first < wait && wait < cmd && Math.min(...after) > cmd && Math.max(...after) < end).toBe(true);
    expect(o.match(/waits for your approval/g)).toHaveLength(1);
    expect(o).toMatch(/✓ {2}2 remember content="numbers are ready"/);
    expect(o).toContain("Noted and reported.");

    // Decided already, and over: a second decision is exit 1 with the server's reason, and nothing on stdout.
    const again = await cli("run", "approve", runId);
    expect(again.code).toBe(1);
    expect(again.stdout).toBe("");
    expect(again.stderr).toBe(`error: run ${runId} is completed: it waits for nothing\n`);
    expect(json(await cli("run", "logs", runId, "--json")).map((s: { toolName: string }) => s.toolName)).toEqual([
      "update_plan",
      "remember",
      "update_plan",
      "finish",
    ]);

    // --json: the same story as one JSON event per line, the plan among them.
    const events = ok(await cli("run", "watch", runId, "--json"))
      .stdout.trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(events.map((e) => e.event)).toEqual(["run.started", "step", "step", "step", "step", "plan", "run.completed"]);
    expect(events[5].data).toMatchObject({
      items: [
        { title: "Note the numbers", status: "done" },
        { title: "Report them", status: "done" },
      ],
    });
  });

  it("run deny --note: the call does not run and the agent reads the denial with the note", async () => {
    const { runId } = await startRun(
      [{ toolCalls: [call("remember", { content: "post it all" })] }, { text: "Understood, nothing posted." }],
      "--require-approval",
      "remember",
    );
    await waiting(runId);
    const denied = json(await cli("run", "deny", runId, "--note", "not before Monday", "--json"));
    expect(denied).toMatchObject({ id: runId, status: expect.stringMatching(/pending|running/) });
    expect(await ended(runId)).toMatchObject({ status: "completed", summary: "Understood, nothing posted." });
    const [held] = json(await cli("run", "logs", runId, "--json"));
    expect(held).toMatchObject({ toolName: "remember", observation: "denied by the user: not before Monday (the call was not run)" });
  });
});

describe("questions from the CLI", () => {
  it("run show and run watch show the question, its choices and the answer command; approve is refused; run answer answers", async () => {
    const { runId } = await startRun(
      [{ toolCalls: [call("ask_user", { question: "Which region first?", choices: ["EU", "US"] })] }, { text: "Starting with EU." }],
      "--tools",
      "ask_user,remember",
    );
    await waiting(runId);
    const question = [
      new RegExp(`^⚑ run ${runId} asks: Which region first\\? · expires in 24 hours \\(.+ UTC\\)$`, "m"),
      /^ {2}choices: EU · US$/m,
      new RegExp(`^ {2}answer: {2}async-agent run answer ${runId} "<text>"$`, "m"),
    ];
    const shown = ok(await cli("run", "show", runId)).stdout;
    for (const re of question) expect(shown).toMatch(re);
    const logs = ok(await cli("run", "logs", runId));
    expect(logs.stderr).toContain(`run ${runId} has no steps yet`);
    for (const re of question) expect(logs.stdout).toMatch(re);

    // A watch of a waiting run shows the same, and keeps watching: stopped here with Ctrl-C.
    const watched = await runCli(["run", "watch", runId], {
      home,
      env,
      timeoutMs: 30_000,
      onStdout: (c, child) => c.includes("answer:") && child.kill("SIGINT"),
    });
    expect(watched.code).toBe(130);
    expect(watched.stderr).toContain(`stopped watching; the run still waits for you (above). Stop it with: async-agent run cancel ${runId}`);
    for (const re of question) expect(watched.stdout).toMatch(re);

    const wrong = await cli("run", "approve", runId);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toBe(`error: run ${runId} waits for an answer, not an approval: POST /runs/${runId}/answer\n`);
    const empty = await cli("run", "answer", runId, " ");
    expect(empty.code).toBe(2);
    expect(empty.stderr).toBe("error: the answer must not be empty\n");

    expect(ok(await cli("run", "answer", runId, "EU, then US")).stdout).toMatch(new RegExp(`^✓ answered: run ${runId} goes on`));
    expect(await ended(runId)).toMatchObject({ status: "completed", summary: "Starting with EU." });
    expect(json(await cli("run", "logs", runId, "--json"))[0]).toMatchObject({ toolName: "ask_user", observation: "The owner answered: EU, then US" });
    const late = await cli("run", "answer", runId, "US");
    expect(late.code).toBe(1);
    expect(late.stderr).toBe(`error: run ${runId} is completed: it waits for nothing\n`);
  });
});

describe("goal flags", () => {
  it("goal create and update set --require-approval and --approval-timeout; an empty list clears; bad values are usage errors", async () => {
    const g = json(
      await cli("goal", "create", "--objective", "Careful poster", "--require-approval", "send_webhook, send_email", "--approval-timeout", "3600", "--json"),
    );
    expect(g.params).toEqual({ requireApproval: ["send_webhook", "send_email"], approvalTimeoutSeconds: 3600 });
    const shown = ok(await cli("goal", "show", g.id)).stdout;
    expect(shown).toMatch(/^needs approval\s+send_webhook, send_email$/m);
    expect(shown).toMatch(/^approval timeout\s+1 hour$/m);
    const u = json(await cli("goal", "update", g.id, "--require-approval", "", "--approval-timeout", "604800", "--json"));
    expect(u.params).toEqual({ approvalTimeoutSeconds: 604800 });
    const tooShort = await cli("goal", "update", g.id, "--approval-timeout", "30");
    expect(tooShort.code).toBe(2);
    expect(tooShort.stderr).toMatch(/^error: --approval-timeout: /);
    // Which tools exist is the server's to say (MCP tools too): a 400 naming the field, exit 1.
    const unknown = await cli("goal", "create", "--objective", "x", "--require-approval", "post_tweet");
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('params.requireApproval[0]: unknown tool "post_tweet"');
  });

  it("the new commands have help with examples, and completion knows them", async () => {
    for (const leaf of ["run approve", "run deny", "run answer"])
      expect(ok(await cli(...leaf.split(" "), "--help")).stdout, leaf).toMatch(/\nExamples:\n {2}\$ async-agent run /);
    const bash = ok(await cli("completion", "bash")).stdout;
    expect(bash).toMatch(/"run"\) words="list show logs watch cancel approve deny answer/);
    expect(bash).toMatch(/"run deny"\) words="--note/);
    expect(bash).toMatch(/"goal update"\) words="[^"]*--require-approval --approval-timeout/);
  });
});
