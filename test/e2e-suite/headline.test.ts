/**
 * Scenario 1, the README's headline example as a user runs it: `npm run dev` (which fires the cron each
 * minute by itself), the CLI creates "Collect top AI news, summarize by category, save a markdown file and
 * notify my webhook" on a weekly schedule whose next fire time is the coming minute, and nothing else is
 * touched: the dev runner's tick starts the run; the agent searches, fetches the results in parallel, writes the
 * file and sends its signed webhook; `run watch` shows the steps and the summary; `files get` downloads the file.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../bench/lib/dev-server.ts";
import { npmRunDev, type Proc, stop, VERDICT } from "../../bench/lib/npm-run-dev.ts";
import { TEST_API_TOKEN } from "../bindings.ts";
import { removeTempDirs, runCli, tempHome } from "../cli/run-cli.ts";
import { deliveries, hookUrl, stepsOf } from "./lib/effects.ts";
import { record } from "./lib/report.ts";
import { apiClient, fakeUrl, poll, scriptLlm, suiteVars } from "./lib/system.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
const REPORT = "# Top AI news\n\n## Research\n- Story 1\n\n## Industry\n- Story 2\n- Story 3\n";

describe("scenario 1: the README's headline example, end to end", () => {
  const dir = mkdtempSync(join(tmpdir(), "async-agent-e2e-headline-"));
  const home = tempHome();
  let port: number;
  let dev: Proc;
  const row = { trials: 1, passed: 0, figures: "" };

  beforeAll(async () => {
    execFileSync(process.execPath, ["cli/build.mjs"], { cwd: ROOT, stdio: "pipe" });
    const envFile = join(dir, "dev.vars");
    writeFileSync(
      envFile,
      `${Object.entries(suiteVars())
        .map(([k, v]) => `${k}=${v}`)
        .join("\n")}\n`,
    );
    port = await freePort();
    dev = npmRunDev(dirname(process.execPath), port, ["--env-file", envFile, "--persist-to", join(dir, "state")]);
    await dev.waitFor(VERDICT, 150_000);
  }, 160_000);

  afterAll(async () => {
    record({ scenario: "1 README headline (CLI, npm run dev's cron)", ...row });
    await stop(dev);
    // Whatever of the group is still there after the dev runner's own shutdown goes by force.
    try {
      if (dev?.child.pid) process.kill(-dev.child.pid, "SIGKILL");
    } catch {
      /* the group is gone */
    }
    rmSync(dir, { recursive: true, force: true });
    removeTempDirs();
  });

  const url = () => `http://127.0.0.1:${port}`;
  const cli = (args: string[], timeoutMs = 30_000) => runCli(args, { home, env: { ASYNC_AGENT_URL: url(), ASYNC_AGENT_TOKEN: TEST_API_TOKEN }, timeoutMs });
  const api = { api: apiClient(url) };

  it("weekly goal from the CLI, fired by the dev runner's cron: searched, fetched in parallel, file written, signed webhook, watched, downloaded", async () => {
    const pages = fakeUrl("pages");
    const hookKey = `headline-${Date.now().toString(36)}`;
    const { marker } = await scriptLlm("headline", {
      turns: [
        { text: "Searching for this week's AI news.", toolCalls: [{ name: "web_search", arguments: { query: "top AI news this week", limit: 3 } }] },
        { toolCalls: [1, 2, 3].map((n) => ({ name: "fetch_page", arguments: { url: `${pages}/article/${n}` } })) },
        { toolCalls: [{ name: "write_file", arguments: { path: "reports/ai-news.md", content: REPORT } }] },
        { toolCalls: [{ name: "send_webhook", arguments: { payload: { report: "reports/ai-news.md", categories: ["Research", "Industry"] } } }] },
        { toolCalls: [{ name: "finish", arguments: { summary: "## AI news\n- Research: 1 story\n- Industry: 2 stories\nSaved to reports/ai-news.md." } }] },
      ],
    });
    // A weekly schedule whose next fire time is the coming minute (the one after, when this one is nearly over).
    const fire = new Date(Math.floor(Date.now() / 60_000) * 60_000 + (Date.now() % 60_000 > 45_000 ? 120_000 : 60_000));
    const cron = `${fire.getUTCMinutes()} ${fire.getUTCHours()} * * ${fire.getUTCDay()}`;
    const created = await cli([
      "goal",
      "create",
      "--objective",
      `Collect top AI news, summarize by category, save a markdown file and notify my webhook ${marker}`,
      "--schedule",
      cron,
      "--timezone",
      "UTC",
      "--webhook",
      hookUrl(hookKey),
      "--json",
    ]);
    expect(created.code, created.stderr).toBe(0);
    const goal = JSON.parse(created.stdout) as { id: string; nextRunAt: string };
    expect(goal.nextRunAt).toBe(fire.toISOString());

    // No tick from here: the dev runner's own cron driving starts the run at the minute.
    const from = dev.output().length;
    const run = await poll(
      async () => {
        const list = (await api.api(`/runs?goalId=${goal.id}`)).body.items as { id: string; trigger: string; scheduledFor: string }[];
        return list[0];
      },
      { ms: 150_000, every: 1000, what: "the scheduled run" },
    );
    expect(run).toMatchObject({ trigger: "schedule", scheduledFor: fire.toISOString() });
    await dev.waitFor(/\d\d:\d\d tick → 1 run dispatched/, 30_000, from);

    const watched = await cli(["run", "watch", run.id], 120_000);
    expect(watched.code, watched.stderr).toBe(0);
    const lines = watched.stdout.split("\n");
    expect(
      lines.slice(0, 7).map((l) =>
        l
          .match(/^✓ +(\d+) (\w+)/)
          ?.slice(1, 3)
          .join(" "),
      ),
    ).toEqual(["1 web_search", "2 fetch_page", "3 fetch_page", "4 fetch_page", "5 write_file", "6 send_webhook", "7 finish"]);
    expect(watched.stdout).toMatch(/✓ completed .* · 7 steps/);
    expect(watched.stdout).toContain("Industry: 2 stories");

    // The three pages were fetched in one turn, as parallel calls, and each came back as text.
    const steps = await stepsOf(api, run.id);
    expect(steps.slice(1, 4).every((s) => s.toolName === "fetch_page" && !s.error && /Agent frameworks|AI/.test(s.observation ?? ""))).toBe(true);

    const out = join(dir, "ai-news.md");
    const got = await cli(["files", "get", goal.id, "reports/ai-news.md", "-o", out]);
    expect(got.code, got.stderr).toBe(0);
    expect(readFileSync(out, "utf8")).toBe(REPORT);

    // The agent's webhook and the run's completion event, each signed (checked with the standardwebhooks library).
    const seen = await poll(
      async () => {
        const d = await deliveries(hookKey);
        return d.length >= 2 ? d : undefined;
      },
      { ms: 30_000, what: "both webhooks" },
    );
    expect(seen.map((d) => [(d.body as { type: string }).type, d.libraryVerified, d.status])).toEqual([
      ["agent.message", true, 204],
      ["run.completed", true, 204],
    ]);
    const lag = Date.parse((await api.api(`/runs/${run.id}`)).body.startedAt) - fire.getTime();
    row.passed = 1;
    row.figures = `cron ${cron} UTC fired by npm run dev; run started ${(lag / 1000).toFixed(1)} s after its fire time, 7 steps`;
  }, 400_000);
});
