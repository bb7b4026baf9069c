/**
 * `npm run dev` started the way a user starts it, under the older Node a machine ships: it switches to
 * Node 22 by itself, prints a short start-up ending in one verdict, fires the cron trigger each minute
 * (a `* * * * *` goal runs with no manual tick), restarts on a saved settings change, and refuses a port
 * that is taken. Only the processes started here are stopped, by their process group.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { freePort } from "../../bench/lib/dev-server.ts";
import { npmRunDev, stop, VERDICT, type Proc } from "../../bench/lib/npm-run-dev.ts";
import { testBindings } from "../bindings.ts";
import { oldNode } from "./old-node.ts";

describe("npm run dev, as a user starts it on an older Node", () => {
  const old = oldNode();
  const dir = mkdtempSync(join(tmpdir(), "async-agent-devrun-"));
  const envFile = join(dir, "dev.vars");
  const vars = { ...testBindings(inject("fakePorts")), API_TOKEN: "first-token-0123" };
  const writeVars = (v: Record<string, string>) =>
    writeFileSync(
      envFile,
      Object.entries(v)
        .map(([k, x]) => `${k}=${x}`)
        .join("\n") + "\n",
    );
  let port: number;
  let dev: Proc;
  let verdictAt = 0;

  beforeAll(async () => {
    writeVars(vars);
    port = await freePort();
    const started = Date.now();
    dev = npmRunDev(old.dir, port, ["--env-file", envFile, "--persist-to", join(dir, "state")]);
    await dev.waitFor(VERDICT, 150_000);
    verdictAt = Date.now() - started;
  }, 160_000);

  afterAll(async () => {
    await stop(dev);
    rmSync(dir, { recursive: true, force: true });
  });

  const api = (path: string, token: string, init: RequestInit = {}) =>
    fetch(`http://127.0.0.1:${port}/api/v1${path}`, { ...init, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" } });

  it("switches to Node 22 by itself, saying so in one line", () => {
    expect(old.version.split(".")[0]).not.toBe("22");
    const lines = dev
      .output()
      .split("\n")
      .filter((l) => /Node 22/.test(l));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^async-agent: running under Node 22 .*this Node is v${old.version.replace(/\./g, "\\.")}`));
  });

  it("prints a short start-up that ends in one verdict: URL, docs, LLM checked, one line per tool family", () => {
    const before = dev.output().slice(0, dev.output().search(VERDICT));
    // No wrangler banner, bindings table or request log before the verdict.
    expect(before).not.toMatch(/Your Worker has access|Binding\s+Resource|Ready on|⛅️/);
    expect(before.split("\n").filter(Boolean).length).toBeLessThanOrEqual(4);
    const verdict = dev.output().match(VERDICT)![0];
    expect(verdict).toContain(`http://127.0.0.1:${port}/docs`);
    expect(verdict).toMatch(/LLM\s+✓ openai gpt-4\.1-mini/);
    expect(verdict).toMatch(/schedules\s+✓ fired every minute/);
    expect(verdict).toMatch(/search\s+✓ ready/);
    expect(verdict).toMatch(/email\s+\S+ (limited|not configured)/);
    expect(verdict).toMatch(/webhooks\s+✓ ready/);
    console.log(`npm run dev → verdict in ${(verdictAt / 1000).toFixed(1)} s, ${before.split("\n").filter(Boolean).length} line(s) before it`);
  });

  it("refuses a port that is taken, naming PORT, and leaves the running server alone", async () => {
    const second = npmRunDev(old.dir, port, ["--env-file", envFile]);
    const code = await second.exited;
    expect(code).not.toBe(0);
    expect(second.output()).toMatch(new RegExp(`port ${port} .*already in use.*PORT=${port + 1} npm run dev`));
    expect(second.output()).not.toMatch(VERDICT);
    expect((await fetch(`http://127.0.0.1:${port}/health`)).ok).toBe(true);
  }, 60_000);

  it("fires a * * * * * schedule with no manual tick: the run appears and completes", async () => {
    const from = dev.output().length;
    const res = await api("/goals", vars.API_TOKEN, {
      method: "POST",
      body: JSON.stringify({ objective: "Say hello once (dev runner schedule test)", schedule: { cron: "* * * * *", timezone: "UTC" } }),
    });
    expect(res.status).toBe(201);
    const goal = (await res.json()) as { id: string };
    const tick = await dev.waitFor(/(\d\d:\d\d) tick → 1 run dispatched/, 130_000, from);
    expect(tick[1]).toMatch(/^\d\d:\d\d$/);
    let run: { status: string; trigger: string; scheduledFor: string; startedAt: string | null } | undefined;
    for (const deadline = Date.now() + 30_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 500))) {
      const list = (await (await api(`/runs?goalId=${goal.id}`, vars.API_TOKEN)).json()) as { items: (typeof run)[] };
      run = list.items.find((r) => r!.trigger === "schedule");
      if (run?.status === "completed") break;
    }
    expect(run?.status).toBe("completed");
    const lag = Date.parse(run!.startedAt!) - Date.parse(run!.scheduledFor);
    console.log(`scheduled run: fire time ${run!.scheduledFor}, started ${lag} ms later`);
    expect(Date.parse(run!.scheduledFor) % 60_000).toBe(0);
    await api(`/goals/${goal.id}/pause`, vars.API_TOKEN, { method: "POST" });
  }, 150_000);

  it("restarts on a saved settings change and prints the verdict again: the new API_TOKEN works, the old one is refused", async () => {
    const from = dev.output().length;
    writeVars({ ...vars, API_TOKEN: "second-token-4567" });
    await dev.waitFor(/changed: restarting/, 10_000, from);
    await dev.waitFor(VERDICT, 120_000, from);
    expect((await api("/goals", "second-token-4567")).status).toBe(200);
    expect((await api("/goals", vars.API_TOKEN)).status).toBe(401);
  }, 140_000);
});
