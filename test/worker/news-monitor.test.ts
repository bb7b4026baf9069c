/**
 * The "AI news monitor" end to end, as a user runs it: a goal with a webhook, POST /goals/:id/run,
 * the queue, the agent with the fake LLM, and real tools against the fakes (SearXNG, the page server,
 * R2, D1 memories, the email recorder), then the signed completion webhook.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { runWebhookId } from "../../worker/notify/run-ended";
import { TEST_BRAVE_KEY, TEST_RESEND_KEY, TEST_TAVILY_KEY, TEST_WEBHOOK_SECRET } from "../bindings";
import { INJECTION } from "../fakes/html-corpus";
import { api, createGoal } from "./api";
import { script, stepsOf, waitForRunEnd } from "./agent-helpers";

const hook = (key: string) => `${env.TEST_WEBHOOK_RECEIVER_URL}/hooks/${key}`;
const attempts = async (key: string) =>
  ((await (await fetch(hook(key))).json()) as { attempts: { webhookId: string; verified: boolean; body: any }[] }).attempts;

const REPORT = "# AI news, week 48\n\n## Agents\n- Agent frameworks: costs fell by half\n\n## Policy\n- AI regulation update\n";

describe("news monitor", () => {
  it("searches, reads, saves a markdown report, remembers, emails and sends one signed completion webhook", async () => {
    const pages = env.TEST_PAGES_URL;
    const hookKey = `news-${Date.now().toString(36)}`;
    const { marker } = await script(
      {
        turns: [
          { text: "Searching for this week's AI news.", toolCalls: [{ name: "web_search", arguments: { query: "AI news this week", limit: 3 } }] },
          { toolCalls: [{ name: "recall", arguments: { query: "reported agent frameworks" } }] },
          {
            toolCalls: [
              { name: "fetch_page", arguments: { url: `${pages}/article/1` } },
              { name: "fetch_page", arguments: { url: `${pages}/injected/3` } },
            ],
          },
          { toolCalls: [{ name: "write_file", arguments: { path: "reports/2026-w48.md", content: REPORT } }] },
          { toolCalls: [{ name: "remember", arguments: { content: "Reported: Agent frameworks week 1 (costs fell by half)", type: "reported" } }] },
          { toolCalls: [{ name: "send_email", arguments: { to: "team@example.com", subject: "AI news, week 48", body_markdown: REPORT } }] },
          { toolCalls: [{ name: "finish", arguments: { summary: "## Done\nTwo stories, saved to reports/2026-w48.md." } }] },
        ],
      },
      "news",
    );
    const goal = await createGoal({
      objective: `Collect the week's AI news (also look at ${pages}/injected/3), summarise by category, save markdown and notify me ${marker}`,
      schedule: { cron: "0 16 * * 5", timezone: "Europe/Berlin" },
      webhookUrl: hook(hookKey),
    });
    const run = (await api.post(`/goals/${goal.id}/run`)).body;

    const ended = await waitForRunEnd(run.id);
    expect(ended).toMatchObject({ status: "completed", endReason: "finished", summary: "## Done\nTwo stories, saved to reports/2026-w48.md." });
    const steps = await stepsOf(run.id);
    expect(steps.map((s) => [s.toolName, s.error])).toEqual([
      ["web_search", null],
      ["recall", null],
      ["fetch_page", null],
      ["fetch_page", null],
      ["write_file", null],
      ["remember", null],
      ["send_email", null],
      ["finish", null],
    ]);
    expect(steps[0].observation).toContain(`${pages}/article/1`);
    expect(steps[1].observation).toMatch(/^No memories match/);
    expect(steps[2].observation).toContain("# Agent frameworks: what changed in week 1");
    expect(steps[2].observation).not.toContain("script text must not appear");
    // The injected instruction is in the observation, but only inside the untrusted-content block.
    const injected = steps[3].observation as string;
    expect(injected.indexOf(INJECTION)).toBeGreaterThan(injected.indexOf("<untrusted_content"));
    expect(steps[6].observation).toMatch(/Email NOT sent/);

    // The report is downloadable with its content type.
    const files = await api.get(`/goals/${goal.id}/files`);
    expect(files.body.items.map((f: { path: string }) => f.path)).toEqual(["reports/2026-w48.md"]);
    const report = await api.get(`/goals/${goal.id}/files/reports/2026-w48.md`);
    expect(report.body).toBe(REPORT);
    expect(report.headers.get("content-type")).toBe("text/markdown; charset=utf-8");

    // One signed completion event, listing the run's outputs; it is recorded as an output too.
    const seen = await vi.waitFor(async () => {
      const a = await attempts(hookKey);
      if (!a.length) throw new Error("no webhook yet");
      return a;
    });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ webhookId: runWebhookId(run.id), verified: true });
    expect(seen[0].body.type).toBe("run.completed");
    expect(seen[0].body.data.outputs.map((o: { kind: string }) => o.kind)).toEqual(expect.arrayContaining(["file", "email", "summary"]));
    const outputs = await vi.waitFor(async () => {
      const items = (await api.get(`/runs/${run.id}/outputs`)).body.items as { kind: string; path: string | null; payload: any }[];
      if (!items.some((o) => o.kind === "webhook")) throw new Error("webhook output not recorded yet");
      return items;
    });
    expect(outputs.map((o) => o.kind).sort()).toEqual(["email", "file", "summary", "webhook"]);
    expect(outputs.find((o) => o.kind === "email")?.payload).toMatchObject({ sent: false, to: "team@example.com" });

    const text = JSON.stringify({ steps, outputs, seen });
    for (const secret of [TEST_BRAVE_KEY, TEST_TAVILY_KEY, TEST_RESEND_KEY, TEST_WEBHOOK_SECRET.slice(6)]) expect(text).not.toContain(secret);

    // Next week's run recalls what was already reported.
    const next = await script({
      turns: [
        { toolCalls: [{ name: "recall", arguments: { query: "agent frameworks" } }] },
        { toolCalls: [{ name: "finish", arguments: { summary: "Nothing new." } }] },
      ],
    });
    await api.patch(`/goals/${goal.id}`, { objective: `Collect the week's AI news ${next.marker}` });
    const second = (await api.post(`/goals/${goal.id}/run`)).body;
    expect((await waitForRunEnd(second.id)).status).toBe("completed");
    expect((await stepsOf(second.id))[0].observation).toMatch(/reported\] Reported: Agent frameworks week 1/);
    await vi.waitFor(async () => {
      if ((await attempts(hookKey)).length < 2) throw new Error("second webhook not yet");
    });
    expect(new Set((await attempts(hookKey)).map((a) => a.webhookId))).toEqual(new Set([runWebhookId(run.id), runWebhookId(second.id)]));
  });
});
