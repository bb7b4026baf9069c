/** Runs as a user starts them: POST /goals/:id/run → RUNS queue → GoalAgent → the fake LLM. */
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { api } from "./api";
import { llmStats, startScriptedRun, stepsOf, waitForRunEnd, refuseStepWrites } from "./agent-helpers";

describe("agent runs through the queue", () => {
  it("carries a multi-step run to completion with steps, summary output and token totals", async () => {
    const { run, key } = await startScriptedRun({
      turns: [
        { text: "I will note the finding first.", toolCalls: [{ name: "remember", arguments: { content: "The sky is blue today" } }] },
        { toolCalls: [{ name: "write_file", arguments: { path: "reports/sky.md", content: "# Sky\nblue" } }] },
        { toolCalls: [{ name: "finish", arguments: { summary: "## Report\nThe sky is blue." } }] },
      ],
    });
    const ended = await waitForRunEnd(run.id);
    expect(ended).toMatchObject({ status: "completed", endReason: "finished", summary: "## Report\nThe sky is blue.", stepsExecuted: 3, error: null });
    expect(ended.tokens.prompt).toBeGreaterThan(0);
    expect(ended.tokens.completion).toBe(60);
    const steps = await stepsOf(run.id);
    expect(steps.map((s) => [s.stepNo, s.toolName, s.error])).toEqual([
      [1, "remember", null],
      [2, "write_file", null],
      [3, "finish", null],
    ]);
    expect(steps[0]).toMatchObject({ thought: "I will note the finding first.", toolInput: { content: "The sky is blue today" } });
    const outputs = (await api.get(`/runs/${run.id}/outputs`)).body.items;
    expect(outputs.find((o: any) => o.kind === "summary")?.payload).toEqual({ markdown: "## Report\nThe sky is blue." });
    const stats = await llmStats(key);
    expect(stats.requests).toBe(3);
    // The prompt carries the objective, the local time and the allowed tools.
    expect(stats.toolsOffered[0]).toEqual(expect.arrayContaining(["remember", "write_file", "finish", "read_more"]));
  });

  it("run now hands the run over twice (at once, and through the queue) and it still executes exactly once", async () => {
    const { run, key } = await startScriptedRun({
      turns: [{ toolCalls: [{ name: "write_file", arguments: { path: "once.txt", content: "written once" } }] }, { text: "Done once." }],
    });
    const ended = await waitForRunEnd(run.id);
    expect(ended).toMatchObject({ status: "completed", stepsExecuted: 2 });
    // The queue's copy of the hand-over arrives after its batch window (1 s): give it time to find the run ended.
    await new Promise((r) => setTimeout(r, 2500));
    expect((await llmStats(key)).requests).toBe(2);
    expect((await stepsOf(run.id)).map((s) => s.stepNo)).toEqual([1, 2]);
    const files = (await api.get(`/runs/${run.id}/outputs`)).body.items.filter((o: any) => o.kind === "file");
    expect(files).toHaveLength(1);
    expect((await api.get(`/runs/${run.id}`)).body).toMatchObject({ status: "completed", stepsExecuted: 2 });
  });

  it("executes parallel tool calls of one reply as separate steps", async () => {
    const { run } = await startScriptedRun({
      turns: [
        {
          toolCalls: [
            { name: "remember", arguments: { content: "fact one" } },
            { name: "remember", arguments: { content: "fact two" } },
            { name: "write_file", arguments: { path: "a.txt", content: "a" } },
          ],
        },
        { text: "All three facts are stored." },
      ],
    });
    const ended = await waitForRunEnd(run.id);
    expect(ended).toMatchObject({ status: "completed", endReason: "answered", summary: "All three facts are stored.", stepsExecuted: 4 });
    const steps = await stepsOf(run.id);
    expect(steps.map((s) => s.toolName)).toEqual(["remember", "remember", "write_file", null]);
    expect(steps[3].thought).toBe("All three facts are stored.");
  });

  it("records a turn of 12 parallel tool calls completely (more rows than one D1 statement can bind)", async () => {
    const writes = Array.from({ length: 12 }, (_, i) => ({ name: "write_file", arguments: { path: `many/${i + 1}.txt`, content: `file ${i + 1}` } }));
    const { run } = await startScriptedRun({ turns: [{ toolCalls: writes }, { toolCalls: [{ name: "finish", arguments: { summary: "Wrote 12 files." } }] }] });
    const ended = await waitForRunEnd(run.id);
    expect(ended).toMatchObject({ status: "completed", endReason: "finished", stepsExecuted: 13, error: null });
    const steps = await stepsOf(run.id);
    expect(steps.map((s) => [s.stepNo, s.toolName, s.error])).toEqual([...writes.map((_, i) => [i + 1, "write_file", null]), [13, "finish", null]]);
    const files = (await api.get(`/runs/${run.id}/outputs`)).body.items.filter((o: any) => o.kind === "file");
    expect(files.map((o: any) => o.path).sort()).toEqual(writes.map((w) => w.arguments.path).sort());
  });

  it("saves the last of several writes of one path, within a turn and across grouped turns, and each write's output", async () => {
    const write = (content: string) => ({ name: "write_file", arguments: { path: "same.md", content } });
    const { run, goal } = await startScriptedRun({
      turns: [
        { toolCalls: [write("a".repeat(300_000)), write("b".repeat(300_000))] },
        { toolCalls: [write("c")] },
        { toolCalls: [write("d")] },
        { toolCalls: [{ name: "finish", arguments: { summary: "Wrote." } }] },
      ],
    });
    expect(await waitForRunEnd(run.id)).toMatchObject({ status: "completed", stepsExecuted: 5 });
    expect((await api.get(`/goals/${goal.id}/files/same.md`)).body).toBe("d");
    const files = (await api.get(`/runs/${run.id}/outputs`)).body.items.filter((o: any) => o.kind === "file");
    expect(files.map((o: any) => o.payload.size)).toEqual([300_000, 300_000, 1, 1]);
  });

  it("stops before the next tool acts when steps cannot be recorded: nothing after them takes effect, not even their own files", async () => {
    // D1 refuses the second turn's step write: the steps table is moved away while the model thinks.
    const write = (path: string) => ({ toolCalls: [{ name: "write_file", arguments: { path, content: path } }] });
    const { run, goal } = await startScriptedRun({
      turns: [
        write("first.txt"),
        { ...write("second.txt"), delayMs: 3_000 },
        { toolCalls: [{ name: "remember", arguments: { content: "never stored" } }] },
        { toolCalls: [{ name: "finish", arguments: { summary: "never" } }] },
      ],
    });
    await vi.waitFor(async () => expect(await stepsOf(run.id)).toHaveLength(1), { timeout: 10_000, interval: 50 });
    const restore = await refuseStepWrites();
    let ended;
    try {
      ended = await waitForRunEnd(run.id);
    } finally {
      await restore();
    }
    // `remember` acts outside the step journal, so it waits for step 2 to be recorded: that write fails, and the run ends there.
    expect(ended).toMatchObject({ status: "failed", endReason: "error", stepsExecuted: 2 });
    expect(ended.error).toMatch(/could not record step 2 in D1: .*no such table: steps.*Nothing after it took effect/);
    expect((await stepsOf(run.id)).map((s) => [s.stepNo, s.toolName])).toEqual([[1, "write_file"]]);
    // A journaled file is saved only once its step is recorded: second.txt never was.
    const files = (await api.get(`/goals/${goal.id}/files`)).body.items.map((f: { path: string }) => f.path);
    expect(files).toEqual(["first.txt"]);
    expect((await api.get(`/runs/${run.id}/outputs`)).body.items.filter((o: any) => o.kind === "file").map((o: any) => o.path)).toEqual(["first.txt"]);
    const memories = await env.DB.prepare("SELECT count(*) AS n FROM memories WHERE goal_id = ?").bind(goal.id).first<{ n: number }>();
    expect(memories?.n).toBe(0);
  });

  it("ends a run whose step budget runs out with a partial summary written without tools", async () => {
    const { run, key } = await startScriptedRun(
      { turns: [], then: { toolCalls: [{ name: "remember", arguments: { content: "still going" } }] }, closing: { text: "Partial: did 3 steps." } },
      { params: { stepBudget: 3 } },
    );
    const ended = await waitForRunEnd(run.id);
    expect(ended).toMatchObject({ status: "completed", endReason: "budget_exhausted", summary: "Partial: did 3 steps.", stepsExecuted: 4 });
    const stats = await llmStats(key);
    expect(stats.toolsOffered.at(-1)).toEqual([]);
    expect((await api.get(`/runs/${run.id}/outputs`)).body.items.map((o: any) => o.kind)).toContain("summary");
  });

  it("repairs malformed tool arguments where unambiguous and reports the rest to the model", async () => {
    const { run } = await startScriptedRun({
      turns: [
        {
          toolCalls: [
            { name: "remember", arguments: null },
            { name: "remember", arguments: null },
            { name: "remember", arguments: null },
          ],
          rawArguments: { 0: '{"content": "trailing comma",}', 1: '{"content": "cut off"', 2: "content = what?" },
        },
        { toolCalls: [{ name: "remember", arguments: { content: 42 } }] },
        { toolCalls: [{ name: "finish", arguments: { summary: "done" } }] },
      ],
    });
    await waitForRunEnd(run.id);
    const steps = await stepsOf(run.id);
    expect(steps[0]).toMatchObject({ toolInput: { content: "trailing comma" }, error: null });
    expect(steps[1]).toMatchObject({ toolInput: { content: "cut off" }, error: null });
    expect(steps[2].error).toMatch(/not valid JSON/);
    expect(steps[2].observation).toMatch(/^Error: .*not valid JSON/);
    expect(steps[3].error).toMatch(/invalid arguments for remember: content/);
  });

  it("answers an unknown tool name with an error observation and carries on", async () => {
    const { run } = await startScriptedRun({
      turns: [{ toolCalls: [{ name: "launch_rocket", arguments: {} }] }, { text: "Could not launch; reported." }],
    });
    const ended = await waitForRunEnd(run.id);
    expect(ended.status).toBe("completed");
    const [step] = await stepsOf(run.id);
    expect(step).toMatchObject({ toolName: "launch_rocket", error: expect.stringMatching(/unknown tool "launch_rocket"; available tools: .*finish/) });
  });

  it("retries a 429 (honouring Retry-After) and a 503, then succeeds", async () => {
    const { run, key } = await startScriptedRun({
      turns: [{ faults: [{ status: 429, retryAfter: 0 }, { status: 503 }], text: "Answer after the retries." }],
    });
    const ended = await waitForRunEnd(run.id);
    expect(ended).toMatchObject({ status: "completed", summary: "Answer after the retries." });
    expect((await llmStats(key)).requests).toBe(3);
  });

  it("fails a run at once on a 401 with an error naming provider, model and the fix", async () => {
    const { run, key } = await startScriptedRun({ turns: [{ faults: [{ status: 401 }, { status: 401 }], text: "never" }] });
    const ended = await waitForRunEnd(run.id);
    expect(ended.status).toBe("failed");
    expect(ended.error).toMatch(/openai model gpt-4\.1-mini: .*HTTP 401.*OPENAI_API_KEY/);
    expect((await llmStats(key)).requests).toBe(1);
  });

  it("fails a run on a goal whose model cannot call tools, with the validation reason", async () => {
    const { run } = await startScriptedRun({ turns: [] }, { params: { model: "text-only-davinci" } });
    const ended = await waitForRunEnd(run.id);
    expect(ended).toMatchObject({ status: "failed", endReason: "error", stepsExecuted: 0 });
    expect(ended.error).toMatch(/text-only-davinci answered a tool-call probe with text/);
  });
});
