/** The `async-agent` CLI as a child process against a real Worker (`wrangler dev`, started once in global setup). */
import { execFileSync, spawn } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, statSync, symlinkSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { TEST_API_TOKEN } from "../bindings";
import { TERMINAL_ESCAPES } from "../fakes/pages";
import { BIN, type CliResult, hasControls, hasEscapes, installedBinDir, removeTempDirs, runCli, tempDir, tempHome } from "./run-cli";

const url = inject("cliWorkerUrl");
const home = tempHome();
/** Flags > env > file: most tests pass the server through the environment. */
const env = { ASYNC_AGENT_URL: url, ASYNC_AGENT_TOKEN: TEST_API_TOKEN };
const cli = (...args: string[]) => runCli(args, { home, env });
afterAll(removeTempDirs);
const HEADLINE = [
  "goal",
  "create",
  "--objective",
  "Collect top AI news, summarize by category, and email me",
  "--schedule",
  "0 16 * * 5",
  "--webhook",
  "https://hooks.example.com/notify",
];

function ok(r: CliResult): CliResult {
  if (r.code !== 0) throw new Error(`exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  expect(hasEscapes(r.stdout + r.stderr)).toBe(false);
  return r;
}
const json = <T = any>(r: CliResult): T => JSON.parse(ok(r).stdout) as T;
const newGoal = async (...extra: string[]) => json(await cli("goal", "create", "--objective", "Watch the example.com status page", "--json", ...extra));

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

describe("setup and errors", () => {
  it("init checks the server and the token, then writes ~/.async-agent/config.json with mode 0600", async () => {
    const own = tempHome();
    const r = ok(await runCli(["init", "--url", `${url}/`, "--token", TEST_API_TOKEN], { home: own }));
    expect(r.stdout).toContain(`connected to ${url}`);
    const path = join(own, ".async-agent", "config.json");
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(path, "utf8"))).toEqual({ url, token: TEST_API_TOKEN });

    // The saved config is used with no flags or env, and `config show` masks the token.
    const list = ok(await runCli(["goal", "list", "--json"], { home: own }));
    expect(JSON.parse(list.stdout)).toHaveProperty("items");
    const shown = json(await runCli(["config", "show", "--json"], { home: own }));
    expect(shown).toMatchObject({ url, source: { url: "file", token: "file" } });
    expect(shown.token).not.toContain(TEST_API_TOKEN);
  });

  it("flags beat env, env beats the config file", async () => {
    const own = tempHome();
    ok(await runCli(["config", "set", "url", "http://127.0.0.1:1"], { home: own }));
    const fromEnv = json(await runCli(["config", "show", "--json"], { home: own, env: { ASYNC_AGENT_URL: "http://127.0.0.1:2" } }));
    expect(fromEnv).toMatchObject({ url: "http://127.0.0.1:2", source: { url: "env" } });
    const fromFlag = json(
      await runCli(["--url", "http://127.0.0.1:3", "config", "show", "--json"], { home: own, env: { ASYNC_AGENT_URL: "http://127.0.0.1:2" } }),
    );
    expect(fromFlag).toMatchObject({ url: "http://127.0.0.1:3", source: { url: "flag" } });
  });

  it("init with a wrong token exits 1, says the token was rejected and saves nothing", async () => {
    const own = tempHome();
    const r = await runCli(["init", "--url", url, "--token", "wrong"], { home: own });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("token rejected");
    expect(() => statSync(join(own, ".async-agent", "config.json"))).toThrow();
  });

  it("a wrong token exits 1 with one line: token rejected: run `async-agent init`", async () => {
    const r = await runCli(["goal", "list"], { home, env: { ...env, ASYNC_AGENT_TOKEN: "wrong" } });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe("error: token rejected: run `async-agent init`\n");
  });

  it("an unreachable server exits 1: cannot reach <url>: is `npm run dev` running?", async () => {
    const dead = `http://127.0.0.1:${await closedPort()}`;
    const r = await runCli(["goal", "list", "--json"], { home, env: { ...env, ASYNC_AGENT_URL: dead } });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(`error: cannot reach ${dead}: is \`npm run dev\` running?\n`);
  });

  it("usage errors exit 2: unknown command, missing argument, bad option value, bad cron", async () => {
    for (const args of [
      ["gaol", "list"],
      ["goal", "show"],
      ["goal", "list", "--status", "sleeping"],
      ["run", "list", "--limit", "zero"],
    ]) {
      const r = await cli(...args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toMatch(/error/);
    }
    const cron = await cli("goal", "create", "--objective", "x", "--schedule", "61 * * * *");
    expect(cron.code).toBe(2);
    expect(cron.stderr).toMatch(/^error: --schedule: /);
    const key = await cli("config", "set", "colour", "blue");
    expect(key.code).toBe(2);
    expect(key.stderr).toBe('error: unknown key "colour": expected one of url, token\n');
    const none = await cli("goal", "create");
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("an objective is required");
  });

  it("the package is one self-contained file: copied out of the repo, it runs with Node alone", async () => {
    const packed = JSON.parse(
      execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: new URL("../../cli", import.meta.url).pathname, encoding: "utf8" }),
    );
    expect(packed[0].files.map((f: { path: string }) => f.path).sort()).toEqual(["dist/async-agent.js", "package.json"]);
    const dir = tempDir("async-agent-standalone-");
    const bin = join(dir, "async-agent.js");
    copyFileSync(BIN, bin);
    expect(readFileSync(bin, "utf8").startsWith("#!/usr/bin/env node\n")).toBe(true);
    // goal create loads the lazily bundled schemas (zod) and cron preview (croner) too.
    const r = execFileSync(bin, ["goal", "create", "--objective", "Standalone check", "--schedule", "0 16 * * 5", "--json"], {
      env: { PATH: process.env.PATH, HOME: home, ...env } as unknown as NodeJS.ProcessEnv,
      encoding: "utf8",
    });
    expect(JSON.parse(r)).toMatchObject({ objective: "Standalone check", schedule: { cron: "0 16 * * 5" } });
  });

  it("completion bash prints a script that knows every command and flag", async () => {
    const r = ok(await cli("completion", "bash"));
    expect(r.stdout).toContain("complete -o default -F _async_agent async-agent");
    expect(r.stdout).toMatch(/"goal create"\) words="[^"]*--schedule[^"]*--webhook/);
    expect(r.stdout).toMatch(/"run"\) words="list show logs watch cancel/);
    expect(r.stdout).toMatch(/"files get"\) words="[^"]*--output/);
    expect(r.stdout).toMatch(/"goal update"\) words="[^"]*--email-to --allow-domains --deny-domains/);
    expect((await cli("completion", "fish")).code).toBe(2);
  });

  it("hints name the command as it can be typed here: `async-agent` when on PATH, else `npx async-agent`", async () => {
    const wrong = { ...env, ASYNC_AGENT_TOKEN: "wrong" };
    const installed = await runCli(["goal", "list"], { home, env: wrong });
    expect(installed.stderr).toBe("error: token rejected: run `async-agent init`\n");
    const nodeOnly = dirname(process.execPath);
    const bare = await runCli(["goal", "list"], { home, env: { ...wrong, PATH: nodeOnly } });
    expect(bare.stderr).toBe("error: token rejected: run `npx async-agent init`\n");
    expect(ok(await runCli(["goal", "run", "--help"], { home, env: { PATH: nodeOnly } })).stdout).toContain("$ npx async-agent goal run goal_01J… --watch");
    expect(ok(await runCli(["completion", "bash"], { home, env: { PATH: nodeOnly } })).stdout).toMatch(
      /^# async-agent bash completion: eval "\$\(npx async-agent completion bash\)"\n# async-agent is not on PATH here/,
    );
    // npx puts node_modules/.bin on PATH for its child only: under npm that entry does not count.
    const npxBin = join(tempDir(), "node_modules", ".bin");
    mkdirSync(npxBin, { recursive: true });
    symlinkSync(BIN, join(npxBin, "async-agent"));
    const viaNpx = await runCli(["goal", "list"], { home, env: { ...wrong, PATH: `${npxBin}:${nodeOnly}`, npm_command: "exec" } });
    expect(viaNpx.stderr).toBe("error: token rejected: run `npx async-agent init`\n");
    const linked = await runCli(["goal", "list"], { home, env: { ...wrong, PATH: `${npxBin}:${nodeOnly}` } });
    expect(linked.stderr).toBe("error: token rejected: run `async-agent init`\n");
    expect(ok(await runCli(["completion", "bash"], { home, env: { PATH: `${installedBinDir}:${nodeOnly}` } })).stdout).not.toContain("not on PATH");
  });

  it("--version and --help work on every command, with examples", async () => {
    const version = JSON.parse(readFileSync(new URL("../../cli/package.json", import.meta.url).pathname, "utf8")).version;
    expect(ok(await cli("--version")).stdout).toBe(`${version}\n`);
    const root = ok(await cli("--help"));
    for (const cmd of ["init", "config", "goal", "run", "files", "tools", "server"]) expect(root.stdout).toContain(cmd);
    const leaves = [
      "init",
      "config show",
      "config set",
      "goal create",
      "goal list",
      "goal show",
      "goal update",
      "goal delete",
      "goal pause",
      "goal resume",
      "goal run",
      "run list",
      "run show",
      "run logs",
      "run watch",
      "run cancel",
      "files list",
      "files get",
      "tools list",
      "server status",
      "completion",
    ];
    const helps = await Promise.all(leaves.map((l) => cli(...l.split(" "), "--help")));
    helps.forEach((r, i) => {
      expect(ok(r).stdout, leaves[i]).toMatch(/\nExamples:\n {2}\$ .*async-agent /);
    });
  });
});

describe("goals", () => {
  let headline: CliResult;
  beforeAll(async () => {
    headline = await runCli(HEADLINE, { home, env: { ...env, TZ: "UTC" } });
  });

  it("creates the README's headline goal, showing the next fire times before creating", async () => {
    ok(headline);
    const lines = headline.stdout.split("\n");
    expect(lines[0]).toBe("next runs:");
    expect(lines.slice(1, 4).every((l) => /^ {2}Fri \d{4}-\d\d-\d\d 16:00 UTC/.test(l))).toBe(true);
    expect(headline.stdout).toMatch(/✓ created goal goal_\w+/);
  });

  it("create --json prints only the created goal, with its schedule and params", async () => {
    const g = await newGoal(
      "--schedule",
      "*/30 * * * *",
      "--timezone",
      "Europe/Berlin",
      "--step-budget",
      "5",
      "--tools",
      "web_search,finish",
      "--overlap",
      "queue",
    );
    expect(g).toMatchObject({
      status: "active",
      schedule: { cron: "*/30 * * * *", timezone: "Europe/Berlin" },
      params: { stepBudget: 5, allowedTools: ["web_search", "finish"], overlap: "queue" },
    });
    expect(g.nextFireTimes.length).toBeGreaterThan(0);
  });

  it("list shows a table, and --json parses", async () => {
    await newGoal();
    await newGoal();
    const g = await newGoal();
    const table = ok(await cli("goal", "list"));
    expect(table.stdout.split("\n")[0]).toMatch(/^ID\s+STATUS\s+SCHEDULE\s+NEXT RUN\s+OBJECTIVE$/);
    expect(table.stdout).toContain(g.id);
    const page = json(await cli("goal", "list", "--json", "--limit", "100"));
    expect(page.items.map((x: { id: string }) => x.id)).toContain(g.id);
    // --all follows the cursor: pages of 2 add up to the same list.
    const all = json(await cli("goal", "list", "--all", "--limit", "2", "--json"));
    expect(all).toEqual({ items: page.items, nextCursor: null });
  });

  it("show prints the goal and its runs", async () => {
    const g = await newGoal("--schedule", "0 9 * * 1");
    const r = ok(await cli("goal", "show", g.id, "--runs"));
    expect(r.stdout).toContain(g.id);
    expect(r.stdout).toContain("0 9 * * 1");
    expect(r.stdout).toContain("next runs:");
    expect(json(await cli("goal", "show", g.id, "--runs", "--json"))).toMatchObject({ id: g.id, runs: [] });
  });

  it("update changes only what is given and keeps the other params", async () => {
    const g = await newGoal("--schedule", "0 9 * * *", "--step-budget", "5", "--model", "m-1");
    const u = json(await cli("goal", "update", g.id, "--step-budget", "7", "--timezone", "Asia/Tokyo", "--json"));
    expect(u.params).toEqual({ stepBudget: 7, model: "m-1" });
    expect(u.schedule).toEqual({ cron: "0 9 * * *", timezone: "Asia/Tokyo" });
    const cleared = json(await cli("goal", "update", g.id, "--no-schedule", "--json"));
    expect(cleared.schedule).toBeNull();
    const nothing = await cli("goal", "update", g.id);
    expect(nothing.code).toBe(2);
  });

  it("create and update set email recipients and allowed/denied domains; an empty list clears one", async () => {
    const g = await newGoal(
      "--email-to",
      "me@example.org, @team.example.org",
      "--allow-domains",
      "example.org,*.example.net",
      "--deny-domains",
      "ads.example.org",
    );
    expect(g.params).toEqual({
      emailRecipients: ["me@example.org", "@team.example.org"],
      allowedDomains: ["example.org", "*.example.net"],
      deniedDomains: ["ads.example.org"],
    });
    const shown = ok(await cli("goal", "show", g.id));
    expect(shown.stdout).toMatch(/^email to\s+me@example\.org, @team\.example\.org$/m);
    expect(shown.stdout).toMatch(/^allowed domains\s+example\.org, \*\.example\.net$/m);
    expect(shown.stdout).toMatch(/^denied domains\s+ads\.example\.org$/m);
    const u = json(await cli("goal", "update", g.id, "--deny-domains", "", "--email-to", "boss@example.org", "--json"));
    expect(u.params).toEqual({ emailRecipients: ["boss@example.org"], allowedDomains: ["example.org", "*.example.net"] });
    const cleared = json(await cli("goal", "update", g.id, "--allow-domains", "", "--email-to", "", "--json"));
    expect(cleared.params).toEqual({});
    const bad = await cli("goal", "create", "--objective", "x", "--email-to", "bob");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error: --email-to "bob": expected an address/);
    const badDomain = await cli("goal", "update", g.id, "--deny-domains", "not a domain");
    expect(badDomain.code).toBe(2);
    expect(badDomain.stderr).toMatch(/^error: --deny-domains "not a domain": expected a domain name/);
  });

  it("pause and resume", async () => {
    const g = await newGoal("--schedule", "0 9 * * *");
    const paused = ok(await cli("goal", "pause", g.id));
    expect(paused.stdout).toContain(`paused goal ${g.id}`);
    expect(json(await cli("goal", "show", g.id, "--json")).status).toBe("paused");
    expect(json(await cli("goal", "resume", g.id, "--json")).status).toBe("active");
  });

  it("delete refuses without --yes when not interactive, deletes with it", async () => {
    const g = await newGoal();
    const refused = await cli("goal", "delete", g.id);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("--yes");
    ok(await cli("goal", "delete", g.id, "--yes"));
    const gone = await cli("goal", "show", g.id);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toBe(`error: goal ${g.id} not found\n`);
  });
});

describe("runs", () => {
  /** Scripts the fake LLM (test/fakes/llm.ts) for goals whose objective carries `[script:<key>]`. */
  async function scriptLlm(key: string, script: unknown) {
    const res = await fetch(`http://127.0.0.1:${inject("fakePorts").llm}/__scripts`, { method: "POST", body: JSON.stringify({ key, script }) });
    expect(res.ok).toBe(true);
  }
  const searchThenFinish = {
    turns: [
      { toolCalls: [{ name: "web_search", arguments: { query: "top AI news this week" } }] },
      { toolCalls: [{ name: "finish", arguments: { summary: "## AI news\n- Three stories this week" } }] },
    ],
  };

  it("goal run --watch follows the run to completion: a line per step, then the summary", async () => {
    await scriptLlm("cli-watch", searchThenFinish);
    const g = json(await cli("goal", "create", "--objective", "Collect AI news [script:cli-watch]", "--json"));
    const r = ok(await runCli(["goal", "run", g.id, "--watch"], { home, env, timeoutMs: 50_000 }));
    const lines = r.stdout.split("\n");
    expect(lines[0]).toMatch(/^✓ {2}1 web_search query="top AI news this week" \d/);
    expect(lines[1]).toMatch(/^✓ {2}2 finish summary="## AI news - Three stories this week" \d/);
    expect(lines[2]).toMatch(/^✓ completed .* · 2 steps/);
    expect(r.stdout).toContain("## AI news\n- Three stories this week");
    expect(r.stderr).toMatch(new RegExp(`^run run_\\w+ · goal ${g.id} · budget 20 steps$`, "m"));

    // The finished run: logs show each step in full, and run show has the summary.
    const runId = /^run (run_\w+)/m.exec(r.stderr)![1];
    const logs = ok(await cli("run", "logs", runId));
    expect(logs.stdout).toContain("web_search");
    const steps = json(await cli("run", "logs", runId, "--json"));
    expect(steps.map((s: { toolName: string }) => s.toolName)).toEqual(["web_search", "finish"]);
    expect(json(await cli("run", "show", runId, "--json"))).toMatchObject({ status: "completed", summary: "## AI news\n- Three stories this week" });
    // Replaying a finished run's stream as JSON events: one per line.
    const events = ok(await cli("run", "watch", runId, "--json"))
      .stdout.trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(events.map((e) => e.event)).toEqual(["run.started", "step", "step", "run.completed"]);
  });

  it("usage shows a goal's runs, tokens and cost as a table and as JSON; a bad --since is a usage error", async () => {
    await scriptLlm("cli-usage", { turns: [{ text: "All done.", usage: { prompt: 10_000, completion: 1_000 } }] });
    const g = json(await cli("goal", "create", "--objective", "Count the cost [script:cli-usage]", "--monthly-budget", "0.005", "--json"));
    expect(g.params).toEqual({ monthlyBudgetUsd: 0.005 });
    ok(await runCli(["goal", "run", g.id, "--watch"], { home, env, timeoutMs: 50_000 }));
    // gpt-4.1-mini: 10,000 × $0.40 + 1,000 × $1.60 per million = $0.0056.
    const u = json(await cli("usage", "--goal", g.id, "--by", "goal", "--since", "1d", "--json"));
    expect(u.items).toEqual([{ key: g.id, runs: 1, promptTokens: 10_000, completionTokens: 1_000, costUsd: 0.0056, unpricedRuns: 0 }]);
    const table = ok(await cli("usage", "--goal", g.id)).stdout.split("\n");
    expect(table[0]).toMatch(/^DAY\s+RUNS\s+PROMPT\s+COMPLETION\s+COST$/);
    expect(table[1]).toMatch(/^\d{4}-\d{2}-\d{2}\s+1\s+10000\s+1000\s+\$0\.0056$/);
    expect(table[2]).toMatch(/^total\s+1\s+10000\s+1000\s+\$0\.0056$/);
    // The goal's view: this month's spending, the last run's cost, and why its next runs are skipped.
    const shown = ok(await cli("goal", "show", g.id)).stdout;
    expect(shown).toMatch(/monthly budget\s+\$0\.0050/);
    expect(shown).toMatch(/this month\s+\$0\.0056 · 11000 tokens \(\d{4}-\d{2}\)/);
    expect(shown).toMatch(/readiness\s+runs skipped: monthly budget of \$0\.0050 reached: \$0\.0056 spent since \d{4}-\d{2}-01/);
    expect((await cli("goal", "create", "--objective", "x", "--monthly-budget", "lots")).code).toBe(2);
    const bad = await cli("usage", "--since", "yesterday");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--since.*expected a duration such as 30d/);
  });

  it("goal run starts a run; run list and run show find it", async () => {
    const g = await newGoal();
    const run = json(await cli("goal", "run", g.id, "--json"));
    expect(run).toMatchObject({ goalId: g.id, trigger: "manual" });
    const listed = json(await cli("run", "list", "--goal", g.id, "--json"));
    expect(listed.items.map((r: { id: string }) => r.id)).toEqual([run.id]);
    const table = ok(await cli("run", "list", "--goal", g.id));
    expect(table.stdout).toContain(run.id);
    const shown = ok(await cli("run", "show", run.id));
    expect(shown.stdout).toContain(g.id);
    expect(json(await cli("run", "show", run.id, "--json"))).toMatchObject({ id: run.id, outputs: expect.any(Array) });
  });

  it("goal run --input sends a JSON object or text, --input-file - reads stdin", async () => {
    const g = await newGoal("--overlap", "allow");
    const fromJson = json(await cli("goal", "run", g.id, "--input", '{"company": "Example Corp"}', "--json"));
    expect(json(await cli("run", "show", fromJson.id, "--json")).input).toEqual({ company: "Example Corp" });
    const fromText = json(await cli("goal", "run", g.id, "--input", "Issue #7: export is broken", "--json"));
    expect(fromText.input).toBe("Issue #7: export is broken");
    const fromStdin = json(await runCli(["goal", "run", g.id, "--input-file", "-", "--json"], { home, env, stdin: "line 1\nline 2\n" }));
    expect(fromStdin.input).toBe("line 1\nline 2\n");
    const both = await cli("goal", "run", g.id, "--input", "a", "--input-file", "-");
    expect(both.code).toBe(2);
    expect(both.stderr).toContain("give --input or --input-file, not both");
    const broken = await cli("goal", "run", g.id, "--input", "{not json");
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain('--input: starts with "{" but is not valid JSON');
  });

  it("goal trigger enable prints the URL and secret once; a signed delivery starts a run; rotate, show and disable", async () => {
    const g = await newGoal();
    expect(json(await cli("goal", "trigger", "show", g.id, "--json"))).toMatchObject({ enabled: false, url: null });
    const on = json(await cli("goal", "trigger", "enable", g.id, "--json"));
    expect(on.secret).toMatch(/^whsec_/);
    expect(on.url).toMatch(new RegExp(`^${url}/hooks/hook_`));
    const twice = await cli("goal", "trigger", "enable", g.id);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain("already enabled; for a new secret:");
    const rotated = ok(await cli("goal", "trigger", "rotate", g.id));
    expect(rotated.stdout).toContain(on.url);
    const secret = /secret\s+(whsec_\S+)/.exec(rotated.stdout)![1];
    expect(secret).not.toBe(on.secret);

    const body = JSON.stringify({ type: "form.submitted", data: { company: "Example Corp" } });
    const signed = (s: string, id: string) => new Webhook(s).sign(id, new Date(), body);
    const send = (s: string, id: string) =>
      fetch(on.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "webhook-id": id,
          "webhook-timestamp": String(Math.floor(Date.now() / 1000)),
          "webhook-signature": signed(s, id),
        },
        body,
      });
    expect((await send(on.secret, "msg_cli_old")).status).toBe(401);
    const accepted = await send(secret, "msg_cli_1");
    expect(accepted.status).toBe(202);
    const { runId } = (await accepted.json()) as { runId: string };
    expect(json(await cli("run", "show", runId, "--json"))).toMatchObject({ trigger: "webhook", input: JSON.parse(body) });
    const shown = ok(await cli("goal", "trigger", "show", g.id));
    expect(shown.stdout).toMatch(/enabled\s+yes/);
    expect(shown.stdout).not.toMatch(/last fired\s+never/);
    ok(await cli("goal", "trigger", "disable", g.id));
    expect(json(await cli("goal", "trigger", "show", g.id, "--json")).enabled).toBe(false);
    expect((await send(secret, "msg_cli_2")).status).toBe(401);
  });

  it("run cancel stops a run that is still going", async () => {
    await scriptLlm("cli-cancel", { turns: [{ toolCalls: [{ name: "web_search", arguments: { query: "slow" } }], delayMs: 20_000 }] });
    const g = json(await cli("goal", "create", "--objective", "Slow work [script:cli-cancel]", "--json"));
    const run = json(await cli("goal", "run", g.id, "--json"));
    const cancelled = ok(await cli("run", "cancel", run.id));
    expect(cancelled.stdout).toContain(`cancellation requested for run ${run.id}`);
    const watched = await runCli(["run", "watch", run.id], { home, env, timeoutMs: 50_000 });
    expect(watched.code).toBe(1);
    expect(watched.stdout).toMatch(/✗ cancelled/);
  });
});

describe("runs: failures, files and what reaches the terminal", () => {
  async function scriptLlm(key: string, script: unknown) {
    const res = await fetch(`http://127.0.0.1:${inject("fakePorts").llm}/__scripts`, { method: "POST", body: JSON.stringify({ key, script }) });
    expect(res.ok).toBe(true);
  }
  async function runToEnd(objective: string): Promise<{ goalId: string; runId: string; watched: CliResult }> {
    const g = json(await cli("goal", "create", "--objective", objective, "--json"));
    const watched = await runCli(["goal", "run", g.id, "--watch"], { home, env, timeoutMs: 50_000 });
    return { goalId: g.id, runId: /^run (run_\w+)/m.exec(watched.stderr)![1], watched };
  }

  /** The CLI in a pseudo-terminal (util-linux `script`): stdout and stdin are a TTY, as for a person at a terminal. */
  function inTerminal(...args: string[]): Promise<{ code: number | null; out: string }> {
    const quote = (a: string) => `'${a.replace(/'/g, "'\\''")}'`;
    const command = [process.execPath, BIN, ...args].map(quote).join(" ");
    return new Promise((resolve, reject) => {
      const child = spawn("script", ["-qec", command, "/dev/null"], {
        env: { PATH: process.env.PATH ?? "", HOME: home, LANG: "C.UTF-8", TERM: "xterm-256color", ...env } as unknown as NodeJS.ProcessEnv,
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      child.stdout.on("data", (d: Buffer) => (out += d));
      child.on("error", reject);
      child.on("close", (code) => resolve({ code, out }));
    });
  }

  it("run logs on a run that failed before its first step shows its status and error", async () => {
    const g = await newGoal("--model", "text-only-davinci");
    const run = json(await cli("goal", "run", g.id, "--json"));
    expect((await runCli(["run", "watch", run.id], { home, env, timeoutMs: 50_000 })).code).toBe(1);
    const logs = ok(await cli("run", "logs", run.id));
    expect(logs.stderr).toContain(`run ${run.id} has no steps`);
    expect(logs.stdout).toMatch(/^✗ failed: .*text-only-davinci answered a tool-call probe with text/m);
  });

  it("files list and files get: a goal's files, downloaded byte for byte to a file, a directory or a pipe", async () => {
    const content = `# Week 1\n\nCafé ☕ — ${TERMINAL_ESCAPES}\n`;
    await scriptLlm("cli-files", {
      turns: [
        { toolCalls: [{ name: "write_file", arguments: { path: "reports/week-1.md", content } }] },
        { toolCalls: [{ name: "write_file", arguments: { path: "data/seen.json", content: '["a"]' } }] },
        { toolCalls: [{ name: "finish", arguments: { summary: "Saved." } }] },
      ],
    });
    const { goalId, watched } = await runToEnd("Keep notes [script:cli-files]");
    ok(watched);
    const table = ok(await cli("files", "list", goalId));
    expect(table.stdout.split("\n")[0]).toMatch(/^PATH\s+SIZE\s+TYPE\s+WRITTEN$/);
    expect(table.stdout).toMatch(/^reports\/week-1\.md\s+\d+ B\s+text\/markdown\s+\S/m);
    expect(json(await cli("files", "list", goalId, "--prefix", "reports/", "--json")).items.map((f: { path: string }) => f.path)).toEqual([
      "reports/week-1.md",
    ]);
    expect(ok(await cli("files", "list", goalId, "--prefix", "nothing/")).stdout).toBe("No files under nothing/.\n");

    // Piped, the bytes go out as stored: whoever pipes a file asked for that file.
    const piped = await cli("files", "get", goalId, "reports/week-1.md");
    expect(piped.code).toBe(0);
    expect(piped.stdout).toBe(content);
    const dir = tempDir("async-agent-files-");
    const saved = ok(await cli("files", "get", goalId, "reports/week-1.md", "-o", join(dir, "out.md")));
    expect(saved.stdout).toMatch(new RegExp(`^✓ saved reports/week-1\\.md to ${join(dir, "out.md")} \\(\\d+ B\\)`));
    expect(readFileSync(join(dir, "out.md"))).toEqual(Buffer.from(content));
    const intoDir = json(await cli("files", "get", goalId, "data/seen.json", "-o", dir, "--json"));
    expect(intoDir).toMatchObject({ goalId, path: "data/seen.json", output: join(dir, "seen.json"), size: 5 });
    expect(readFileSync(join(dir, "seen.json"), "utf8")).toBe('["a"]');

    // On a terminal the file is shown as text, its escape sequences made visible rather than obeyed.
    const shown = await inTerminal("files", "get", goalId, "reports/week-1.md");
    expect(shown.code).toBe(0);
    expect(shown.out).toContain("Café ☕ — Headline␛]0;pwned-title␇ here");
    expect(hasControls(shown.out.replace(/\r/g, ""))).toBe(false);

    const missing = await cli("files", "get", goalId, "reports/nope.md");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error: .*not found/);
    expect((await cli("files", "get", goalId, "data/seen.json", "--json")).code).toBe(2);
  });

  it("escape sequences from a page, the model's thought and its summary are printed visible; --json keeps them exact", async () => {
    const pages = `http://127.0.0.1:${inject("fakePorts").pages}`;
    const thought = "Reading\x1b]52;c;cHduZWQ=\x07 the page";
    const summary = "Done\x1b]0;pwned-summary\x07 \x1b[2J\x07";
    await scriptLlm("cli-escapes", {
      turns: [
        { text: thought, toolCalls: [{ name: "fetch_page", arguments: { url: `${pages}/terminal-escapes.txt` } }] },
        { toolCalls: [{ name: "finish", arguments: { summary } }] },
      ],
    });
    const { runId, watched } = await runToEnd(`Read ${pages}/terminal-escapes.txt [script:cli-escapes]`);
    const printed = {
      "goal run --watch": watched,
      "run logs": await cli("run", "logs", runId),
      "run show": await cli("run", "show", runId),
      "run watch": await cli("run", "watch", runId),
      "run logs --follow": await cli("run", "logs", runId, "--follow"),
    };
    for (const [name, r] of Object.entries(printed)) {
      expect(r.code, name).toBe(0);
      expect(hasControls(r.stdout + r.stderr), name).toBe(false);
    }
    const logs = printed["run logs"].stdout;
    expect(logs).toContain("Headline␛]0;pwned-title␇ here");
    expect(logs).toContain("␛[2J␛[Hscreen cleared");
    expect(logs).toContain("␛]52;c;cHduZWQ=␇clipboard");
    expect(logs).toContain("\\x9b31mC1 red␡␛[0m done");
    expect(logs).toContain("Reading␛]52;c;cHduZWQ=␇ the page");
    expect(printed["run show"].stdout).toContain("Done␛]0;pwned-summary␇ ␛[2J␇");
    expect(printed["run watch"].stdout).toContain("Done␛]0;pwned-summary␇ ␛[2J␇");

    // On a terminal the printer colours its own labels; the data's sequences still arrive as symbols.
    const coloured = await inTerminal("run", "logs", runId);
    expect(coloured.code).toBe(0);
    expect(coloured.out).toMatch(/\x1b\[3\dm✓\x1b\[39m/);
    expect(coloured.out).toContain("Headline␛]0;pwned-title␇ here");
    // Nothing but SGR colour codes (ESC [ digits m) and line ends.
    expect(hasControls(coloured.out.replace(/\x1b\[[0-9;]*m/g, "").replace(/\r/g, ""))).toBe(false);

    // --json: still only JSON, with no raw control character, and the exact strings parse back.
    const steps = await cli("run", "logs", runId, "--json");
    const shown = await cli("run", "show", runId, "--json");
    const events = await cli("run", "watch", runId, "--json");
    for (const r of [steps, shown, events]) expect(hasControls(r.stdout)).toBe(false);
    expect(JSON.parse(steps.stdout)[0]).toMatchObject({ thought, observation: expect.stringContaining(TERMINAL_ESCAPES) });
    expect(JSON.parse(shown.stdout).summary).toBe(summary);
    const stepEvent = events.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l))
      .find((e) => e.event === "step");
    expect(stepEvent.data.observation).toContain(TERMINAL_ESCAPES);

    // An error message from the server echoing what it was given: visible too.
    const notFound = await cli("goal", "show", "goal_\x1b]0;pwned\x07");
    expect(notFound.code).toBe(1);
    expect(hasControls(notFound.stderr)).toBe(false);
  });
});

describe("server", () => {
  it("tools list shows each tool's state (ready, limited, not configured) with the reason", async () => {
    const r = ok(await cli("tools", "list"));
    expect(r.stdout.split("\n")[0]).toMatch(/^TOOL\s+STATE\s+DETAILS$/);
    expect(r.stdout).toMatch(/^finish\s+ready\s+/m);
    // The suite's Worker has a search fake listening, and no EMAIL_PROVIDER.
    expect(r.stdout).toMatch(/^web_search\s+ready\s+Search the web/m);
    expect(r.stdout).toMatch(/^send_email\s+limited\s+emails are recorded, not sent: set EMAIL_PROVIDER/m);
    const tools = json(await cli("tools", "list", "--json"));
    expect(tools.items.find((t: { name: string }) => t.name === "send_email")).toMatchObject({
      configured: true,
      state: "limited",
      reason: expect.stringContaining("EMAIL_PROVIDER"),
    });
    expect(tools.items.find((t: { name: string }) => t.name === "web_search")).toMatchObject({ configured: true, state: "ready" });
  });

  it("server status shows health, readiness, the LLM check, version and latency", async () => {
    const r = ok(await cli("server", "status"));
    expect(r.stdout).toMatch(/^server\s+http:\/\/127\.0\.0\.1:\d+ \(\d+ ms\)$/m);
    expect(r.stdout).toMatch(/^ready\s+ok$/m);
    expect(r.stdout).toMatch(/^model\s+ok openai\/gpt-4\.1-mini/m);
    const s = json(await cli("server", "status", "--json"));
    expect(s).toMatchObject({ ok: true, health: { ok: true }, ready: { ok: true }, llm: { ok: true, provider: "openai" } });
  });
});
