/** Durability and control: eviction mid-run, idempotent acceptance, the queue consumer and DLQ, cancel, the SSE stream. */
import { abortAllDurableObjects, createExecutionContext, createMessageBatch, getQueueResult, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { getAgentByName } from "agents";
import { describe, expect, it, vi } from "vitest";
import { dbFor } from "../../worker/db/client";
import { consumeRuns } from "../../worker/queue/consumer";
import { getRun, insertRun } from "../../worker/db/runs";
import { api, call, createGoal } from "./api";
import { type Checkpoint, runLoop } from "../../worker/agent/run-loop";
import { getGoal } from "../../worker/db/goals";
import { providerFor } from "../../worker/llm/provider";
import { finishTool } from "../../worker/tools/finish.tool";
import { rememberTool } from "../../worker/tools/memory.tool";
import { StepJournal } from "../../worker/agent/step-journal";
import { ConversationLog } from "../../worker/agent/conversation-log";
import type { StepRow } from "../../worker/db/schema";
import type { Message } from "../../worker/llm/types";
import { goalPrefix } from "../../worker/lib/artifacts";
import type { Effect } from "../../worker/tools/tool";
import { llmStats, runLoopDirectly, startScriptedRun, stepsOf, waitForRunEnd, refuseStepWrites } from "./agent-helpers";

const db = dbFor(env.DB);
const remember = (content: string) => ({ toolCalls: [{ name: "remember", arguments: { content } }] });
const finish = (summary: string) => ({ toolCalls: [{ name: "finish", arguments: { summary } }] });

/** Delivers messages to the consumer the way the Queues runtime does, and returns the ack/retry result. */
async function deliver(queue: string, bodies: unknown[], attempts = 1) {
  const batch = createMessageBatch(
    queue,
    bodies.map((body, i) => ({ id: `m${i}-${Math.random()}`, timestamp: new Date(), attempts, body })),
  );
  const ctx = createExecutionContext();
  await consumeRuns(batch, env);
  return getQueueResult(batch, ctx);
}

type SseEvent = { event: string; id: string; data: any };
async function readStream(runId: string, headers: Record<string, string> = {}): Promise<SseEvent[]> {
  const res = await call("GET", `/api/v1/runs/${runId}/stream`, { headers });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/text\/event-stream/);
  return String(res.body ?? "")
    .split("\n\n")
    .filter((b) => b.includes("event:"))
    .map((block) => {
      const field = (n: string) => block.match(new RegExp(`^${n}: ?(.*)$`, "m"))?.[1] ?? "";
      return { event: field("event"), id: field("id"), data: JSON.parse(field("data")) };
    });
}

describe("durable runs", () => {
  it("resumes a run from its last checkpoint after the agent is evicted mid-run, without lost or duplicated steps", async () => {
    const { run, key, goal } = await startScriptedRun({
      turns: [remember("one"), remember("two"), { ...remember("three"), delayMs: 15_000, delayTimes: 1 }, finish("resumed fine")],
    });
    await vi.waitFor(async () => expect((await stepsOf(run.id)).length).toBe(2), { timeout: 15_000, interval: 100 });
    await vi.waitFor(async () => expect((await llmStats(key)).requests).toBe(3), { timeout: 5_000, interval: 50 });
    // The process dies mid-turn: every Durable Object instance is torn down, storage survives.
    // (evictDurableObject waits for the in-flight LLM request to drain, which is not a crash.)
    await abortAllDurableObjects();
    // The reaper re-enqueues a run whose heartbeat went quiet; the agent must resume it, not restart it.
    const result = await deliver("async-agent-runs", [{ runId: run.id, goalId: goal.id }]);
    expect(result.explicitAcks).toHaveLength(1);
    const ended = await waitForRunEnd(run.id);
    expect(ended).toMatchObject({ status: "completed", summary: "resumed fine", stepsExecuted: 4 });
    const steps = await stepsOf(run.id);
    expect(steps.map((s) => [s.stepNo, s.toolName, s.toolInput?.content ?? null])).toEqual([
      [1, "remember", "one"],
      [2, "remember", "two"],
      [3, "remember", "three"],
      [4, "finish", null],
    ]);
    // Turns 1 and 2 were not replayed: only the interrupted turn 3 was asked again.
    expect((await llmStats(key)).requests).toBe(5);
  });

  it("resumes a run checkpointed by an earlier version, whose checkpoint is in its fiber's stash", async () => {
    const { run, key, goal } = await startScriptedRun({
      turns: [remember("one"), { ...remember("two"), delayMs: 15_000, delayTimes: 1 }, finish("resumed from the stash")],
    });
    await vi.waitFor(async () => expect((await stepsOf(run.id)).length).toBe(1), { timeout: 15_000, interval: 100 });
    await vi.waitFor(async () => expect((await llmStats(key)).requests).toBe(2), { timeout: 5_000, interval: 50 });
    await abortAllDurableObjects();
    // Earlier versions stashed the checkpoint in the fiber (the agents SDK's ledger); this version keeps it in the
    // step journal. Put the storage back the way such a version left it.
    const stub = env.GOAL_AGENT.get(env.GOAL_AGENT.idFromName(goal.id));
    await runInDurableObject(stub, (_agent, state: DurableObjectState) => {
      const sql = state.storage.sql;
      const [row] = [...sql.exec<{ body: string }>("SELECT body FROM run_journal WHERE run_id = ? AND id = 'checkpoint'", run.id)];
      expect(JSON.parse(row.body).cp.stepNo).toBe(1);
      sql.exec("UPDATE cf_agents_fibers SET snapshot = ? WHERE idempotency_key = ?", row.body, `run:${run.id}`);
      sql.exec(
        "UPDATE cf_agents_runs SET snapshot = ? WHERE id = (SELECT fiber_id FROM cf_agents_fibers WHERE idempotency_key = ?)",
        row.body,
        `run:${run.id}`,
      );
      sql.exec("DELETE FROM run_journal WHERE run_id = ? AND id = 'checkpoint'", run.id);
    });
    await deliver("async-agent-runs", [{ runId: run.id, goalId: goal.id }]);
    expect(await waitForRunEnd(run.id)).toMatchObject({ status: "completed", summary: "resumed from the stash", stepsExecuted: 3 });
    expect((await stepsOf(run.id)).map((s) => [s.stepNo, s.toolName])).toEqual([
      [1, "remember"],
      [2, "remember"],
      [3, "finish"],
    ]);
    // Only the interrupted turn 2 was asked again.
    expect((await llmStats(key)).requests).toBe(4);
  });

  it("keeps a run's ending until its notification is sent: a notice cut off after the end is recorded is sent on the next hand-over", async () => {
    const hook = `ending-kept-${Math.random().toString(36).slice(2)}`;
    // The notice's claim fails (as if the process stopped between recording the end and notifying).
    await env.DB.exec("CREATE TRIGGER refuse_claim BEFORE UPDATE OF notify_claimed_at ON runs BEGIN SELECT RAISE(ABORT, 'refused for the test'); END");
    let run: { id: string };
    let goal: { id: string };
    try {
      ({ run, goal } = await startScriptedRun({ turns: [finish("noticed later")] }, { webhookUrl: `${env.TEST_WEBHOOK_RECEIVER_URL}/hooks/${hook}` }));
      expect(await waitForRunEnd(run.id)).toMatchObject({ status: "completed", summary: "noticed later" });
      const agent = await getAgentByName(env.GOAL_AGENT, goal.id);
      await vi.waitFor(async () => expect(await agent.isLive(run.id)).toBe(false), { timeout: 10_000, interval: 50 });
    } finally {
      await env.DB.exec("DROP TRIGGER IF EXISTS refuse_claim");
    }
    expect((await getRun(db, run.id))!.notifiedAt).toBeNull();
    // The reaper's or the queue's next hand-over finds the ending kept with the run and sends the notice once.
    await deliver("async-agent-runs", [{ runId: run.id, goalId: goal.id }]);
    await vi.waitFor(async () => expect((await getRun(db, run.id))!.notifiedAt).toBeGreaterThan(0), { timeout: 10_000, interval: 50 });
    const { attempts } = (await (await fetch(`${env.TEST_WEBHOOK_RECEIVER_URL}/hooks/${hook}`)).json()) as { attempts: { body: any }[] };
    expect(attempts.map((a) => a.body.type)).toEqual(["run.completed"]);
  });

  it("resumes with the steps and files it had taken but not yet written (the step journal), each written once", async () => {
    const write = (path: string) => ({ toolCalls: [{ name: "write_file", arguments: { path, content: `content of ${path}` } }] });
    // D1 refuses every step write from the start, so the run's grouped writes keep failing (and retrying) while
    // two journaled turns are taken; the process dies before the retries run out.
    const restore = await refuseStepWrites();
    try {
      const { run, key, goal } = await startScriptedRun({
        turns: [write("a.txt"), write("b.txt"), { ...finish("written once"), delayMs: 15_000, delayTimes: 1 }],
      });
      await vi.waitFor(async () => expect((await llmStats(key)).requests).toBe(3), { timeout: 10_000, interval: 20 });
      await abortAllDurableObjects();
      await restore();
      expect(await stepsOf(run.id)).toEqual([]);
      await deliver("async-agent-runs", [{ runId: run.id, goalId: goal.id }]);
      const ended = await waitForRunEnd(run.id);
      expect(ended).toMatchObject({ status: "completed", summary: "written once", stepsExecuted: 3 });
      expect((await stepsOf(run.id)).map((s) => [s.stepNo, s.toolName])).toEqual([
        [1, "write_file"],
        [2, "write_file"],
        [3, "finish"],
      ]);
      const outputs = (await api.get(`/runs/${run.id}/outputs`)).body.items.filter((o: any) => o.kind === "file");
      expect(outputs.map((o: any) => o.path)).toEqual(["a.txt", "b.txt"]);
      for (const path of ["a.txt", "b.txt"]) expect((await api.get(`/goals/${goal.id}/files/${path}`)).body).toBe(`content of ${path}`);
      // Only the interrupted turn was asked again.
      expect((await llmStats(key)).requests).toBe(4);
    } finally {
      await restore();
    }
  });

  it("does not write a confirmed file again on resume, over what another run of the goal saved since", async () => {
    const write = (content: string) => ({ toolCalls: [{ name: "write_file", arguments: { path: "shared.md", content } }] });
    const { run, key, goal } = await startScriptedRun({ turns: [write("v1"), { ...finish("done"), delayMs: 15_000, delayTimes: 1 }] });
    // Turn 1's write is confirmed (D1, then R2) while the model thinks about turn 2.
    await vi.waitFor(async () => expect((await api.get(`/goals/${goal.id}/files/shared.md`)).body).toBe("v1"), { timeout: 10_000, interval: 20 });
    await vi.waitFor(async () => expect((await llmStats(key)).requests).toBe(2), { timeout: 5_000, interval: 20 });
    await env.ARTIFACTS.put(`${goalPrefix(goal.id)}shared.md`, "v9 from another run");
    await abortAllDurableObjects();
    await deliver("async-agent-runs", [{ runId: run.id, goalId: goal.id }]);
    expect(await waitForRunEnd(run.id)).toMatchObject({ status: "completed" });
    expect((await api.get(`/goals/${goal.id}/files/shared.md`)).body).toBe("v9 from another run");
  });

  it("keeps the step journal's committed effects in the order the writer writes them, whatever order the turn's calls completed in", async () => {
    const stub = env.GOAL_AGENT.get(env.GOAL_AGENT.idFromName(`journal-${Math.random()}`));
    await runInDurableObject(stub, (_agent, state: DurableObjectState) => {
      const sql = ((strings: TemplateStringsArray, ...values: unknown[]) => [
        ...state.storage.sql.exec(
          strings.reduce((q, s, i) => q + (i ? "?" : "") + s, ""),
          ...values,
        ),
      ]) as never;
      const effect = (id: string, content: string): Effect => ({
        output: { id, runId: "r", kind: "file", path: "p.md", payload: {}, createdAt: 0 },
        file: { key: "g/p.md", content, contentType: "text/markdown", runId: "r" },
      });
      const journal = new StepJournal(sql);
      const second = effect("out_b", "v2");
      const first = effect("out_a", "v1");
      // The turn's last call completed first and was stashed with the turn; the commit hands both over in call order.
      journal.sync("r", [], [], [second]);
      journal.sync("r", [], [first, second], []);
      const read = new StepJournal(sql).read("r");
      expect(read.effects.map((e) => e.file?.content)).toEqual(["v1", "v2"]);
      // Confirmed rows go at once; the turn's effects stay until the turn ends.
      journal.sync("r", [], [first, second], [effect("out_c", "v3")]);
      journal.forget("r", [], [first, second]);
      expect(new StepJournal(sql).read("r")).toMatchObject({ effects: [], turnEffects: new Map([["out_c", effect("out_c", "v3")]]) });
      // The checkpoint row: replaced by each sync that carries one, kept by those that do not and by forget, gone with the run.
      journal.sync("r", [], [], [effect("out_c", "v3")], '{"cp":1}');
      journal.sync("r", [], [], [effect("out_c", "v3")]);
      journal.forget("r", [], [effect("out_c", "v3")]);
      expect(new StepJournal(sql).checkpoint("r")).toBe('{"cp":1}');
      journal.save("r", '{"ending":1}');
      expect(new StepJournal(sql).checkpoint("r")).toBe('{"ending":1}');
      journal.drop("r", 0);
      expect(new StepJournal(sql).checkpoint("r")).toBeNull();
    });
  });

  it("writes many rows in statements under Durable Object SQL's 100-parameter limit, and reads them back in order", async () => {
    const stub = env.GOAL_AGENT.get(env.GOAL_AGENT.idFromName(`rows-${Math.random()}`));
    await runInDurableObject(stub, (_agent, state: DurableObjectState) => {
      let most = 0;
      let statements = 0;
      const sql = ((strings: TemplateStringsArray, ...values: unknown[]) => {
        most = Math.max(most, values.length);
        statements++;
        return [
          ...state.storage.sql.exec(
            strings.reduce((q, s, i) => q + (i ? "?" : "") + s, ""),
            ...values,
          ),
        ];
      }) as never;
      // 60 messages of 4 values, 130 step rows and effects of 7: several statements each.
      const messages: Message[] = Array.from({ length: 60 }, (_, i) => ({ role: "user", content: `m${i}` }));
      const log = new ConversationLog(sql);
      log.append("r", messages.slice(0, 1), 0);
      const before = statements;
      log.append("r", messages, 1);
      expect(statements - before).toBe(3); // 59 rows: 25 + 25 + 9
      expect(log.read("r", 60)).toEqual(messages);
      const rows = Array.from({ length: 120 }, (_, i) => ({ stepNo: i + 1, toolName: "remember" }) as StepRow);
      const effects = Array.from(
        { length: 10 },
        (_, i): Effect => ({ output: { id: `out_${i}`, runId: "r", kind: "file", path: `f${i}.md`, payload: {}, createdAt: 0 } }),
      );
      const journal = new StepJournal(sql);
      journal.sync("r", [], [], []); // the table made, and what it holds for the run read, once
      // A turn's new row and the checkpoint that names it: one statement.
      let mark = statements;
      journal.sync("r", rows.slice(0, 1), [], [], '{"cp":0}');
      expect(statements - mark).toBe(1);
      // 129 new rows and the checkpoint, 14 rows of 7 values per statement.
      mark = statements;
      journal.sync("r", rows, effects, [], '{"cp":1}');
      expect(statements - mark).toBe(10);
      expect(journal.checkpoint("r")).toBe('{"cp":1}');
      const read = new StepJournal(sql).read("r");
      expect(read.pending.map((r) => r.stepNo)).toEqual(rows.map((r) => r.stepNo));
      expect(read.effects.map((e) => e.output.id)).toEqual(effects.map((e) => e.output.id));
      // All confirmed at once: 130 ids in two deletes (99 + 31, each with the run id).
      const beforeForget = statements;
      journal.forget("r", rows, effects);
      expect(statements - beforeForget).toBe(2);
      expect(new StepJournal(sql).read("r")).toMatchObject({ pending: [], effects: [] });
      expect(most).toBeLessThanOrEqual(100);
    });
  });

  it("fails a resumed run whose stored conversation is missing with that reason, instead of leaving it running", async () => {
    const { run, key, goal } = await startScriptedRun({
      turns: [remember("kept"), { ...remember("never"), delayMs: 15_000, delayTimes: 1 }, finish("not reached")],
    });
    await vi.waitFor(async () => expect((await stepsOf(run.id)).length).toBe(1), { timeout: 15_000, interval: 100 });
    await vi.waitFor(async () => expect((await llmStats(key)).requests).toBe(2), { timeout: 5_000, interval: 50 });
    await abortAllDurableObjects();
    // The agent's own storage loses the run's messages (the checkpoint still names them).
    const stub = env.GOAL_AGENT.get(env.GOAL_AGENT.idFromName(goal.id));
    await runInDurableObject(stub, (_agent, state: DurableObjectState) => void state.storage.sql.exec("DELETE FROM run_messages"));
    await deliver("async-agent-runs", [{ runId: run.id, goalId: goal.id }]);
    const ended = await waitForRunEnd(run.id);
    expect(ended.status).toBe("failed");
    expect(ended.error).toContain("the run's checkpoint could not be read");
  });

  it("survives a second eviction during a resumed run without starting over or repeating tools", async () => {
    const { run, key, goal } = await startScriptedRun({
      turns: [remember("one"), { ...remember("two"), delayMs: 15_000, delayTimes: 2 }, finish("twice resumed")],
    });
    await vi.waitFor(async () => expect((await llmStats(key)).requests).toBe(2), { timeout: 15_000, interval: 50 });
    await abortAllDurableObjects();
    await deliver("async-agent-runs", [{ runId: run.id, goalId: goal.id }]);
    // The resumed fiber is evicted too, before it checkpointed anything of its own.
    await vi.waitFor(async () => expect((await llmStats(key)).requests).toBe(3), { timeout: 15_000, interval: 50 });
    await abortAllDurableObjects();
    await deliver("async-agent-runs", [{ runId: run.id, goalId: goal.id }]);
    const ended = await waitForRunEnd(run.id, 40_000);
    expect(ended).toMatchObject({ status: "completed", summary: "twice resumed" });
    expect((await stepsOf(run.id)).map((s) => [s.stepNo, s.toolName, s.toolInput?.content ?? null])).toEqual([
      [1, "remember", "one"],
      [2, "remember", "two"],
      [3, "finish", null],
    ]);
    // Turn 1's tool ran once; only the interrupted turn 2 was asked again, twice.
    const memories = await env.DB.prepare("SELECT content, count(*) AS n FROM memories WHERE goal_id = ? GROUP BY content ORDER BY content")
      .bind(goal.id)
      .all<{ content: string; n: number }>();
    expect(memories.results).toEqual([
      { content: "one", n: 1 },
      { content: "two", n: 1 },
    ]);
    expect((await llmStats(key)).requests).toBe(5);
  });

  // Found by the end-to-end suite: SIGKILL between the ending turn's checkpoint and the agent's stash of the ending.
  it.each([
    ["a finish call", finish("All done."), "finished", "All done."],
    ["a plain answer", { text: "Just the answer." }, "answered", "Just the answer."],
  ])("resumes a run cut off right after %s was checkpointed to that ending, without asking the model again", async (_, turn, endReason, summary) => {
    const cps: Checkpoint[] = [];
    const tools = () => [rememberTool(), finishTool()];
    const first = await runLoopDirectly({ turns: [remember("one"), turn] }, {}, { tools: tools(), onCheckpoint: (cp) => void cps.push(structuredClone(cp)) });
    expect(first.result).toMatchObject({ status: "completed", endReason, summary });
    const asked = (await llmStats(first.key)).requests;
    const goal = (await getGoal(db, first.goalId))!;
    const run = (await getRun(db, first.runId))!;
    const resumed = await runLoop({
      env,
      db,
      goal,
      run,
      llm: providerFor(env, goal),
      tools: tools(),
      signal: new AbortController().signal,
      resumeFrom: cps.at(-1)!,
      checkpoint: () => 0,
    });
    expect(resumed).toMatchObject({ status: "completed", endReason, summary });
    expect((await llmStats(first.key)).requests).toBe(asked);
    expect((await stepsOf(first.runId)).map((s) => s.stepNo)).toEqual([1, 2]);
  });

  it("finishes a turn interrupted mid-tools without asking the model again or re-running a finished tool call", async () => {
    const { run, key, goal } = await startScriptedRun(
      {
        turns: [
          {
            toolCalls: [
              { name: "remember", arguments: { content: "done before the crash" } },
              { name: "fetch_page", arguments: { url: `${env.TEST_PAGES_URL}/slow` } },
            ],
          },
          finish("turn finished"),
        ],
      },
      { objective: `Read ${env.TEST_PAGES_URL}/slow` },
    );
    const memories = async () => (await env.DB.prepare("SELECT count(*) AS n FROM memories WHERE goal_id = ?").bind(goal.id).first<{ n: number }>())!.n;
    // `remember` has completed while `fetch_page` still waits for the slow page: the process dies then.
    await vi.waitFor(async () => expect(await memories()).toBe(1), { timeout: 15_000, interval: 50 });
    await abortAllDurableObjects();
    await deliver("async-agent-runs", [{ runId: run.id, goalId: goal.id }]);
    const ended = await waitForRunEnd(run.id, 30_000);
    expect(ended).toMatchObject({ status: "completed", summary: "turn finished", stepsExecuted: 3 });
    expect((await stepsOf(run.id)).map((s) => [s.stepNo, s.toolName, s.error])).toEqual([
      [1, "remember", null],
      [2, "fetch_page", null],
      [3, "finish", null],
    ]);
    // The resume ran only the unfinished call, and the model was asked once per turn.
    expect(await memories()).toBe(1);
    expect((await llmStats(key)).requests).toBe(2);
  });

  it("still follows a link it was shown before an eviction (the fetch provenance is rebuilt on resume)", async () => {
    const pages = env.TEST_PAGES_URL;
    const { run, key, goal } = await startScriptedRun(
      {
        turns: [
          { toolCalls: [{ name: "fetch_page", arguments: { url: `${pages}/injected/3` } }] },
          { toolCalls: [{ name: "fetch_page", arguments: { url: `${pages}/research/ai-regulation-3` } }], delayMs: 15_000, delayTimes: 1 },
          finish("followed the link"),
        ],
      },
      { objective: `Read ${pages}/injected/3 and what it links to` },
    );
    await vi.waitFor(async () => expect((await stepsOf(run.id)).length).toBe(1), { timeout: 15_000, interval: 50 });
    await vi.waitFor(async () => expect((await llmStats(key)).requests).toBe(2), { timeout: 5_000, interval: 50 });
    await abortAllDurableObjects();
    await deliver("async-agent-runs", [{ runId: run.id, goalId: goal.id }]);
    expect(await waitForRunEnd(run.id)).toMatchObject({ status: "completed", summary: "followed the link" });
    expect((await stepsOf(run.id)).map((s) => [s.stepNo, s.toolName, s.error])).toEqual([
      [1, "fetch_page", null],
      [2, "fetch_page", null],
      [3, "finish", null],
    ]);
  });

  it("resumes an interrupted run from its own alarm, with no new queue delivery", async () => {
    const { run, key, goal } = await startScriptedRun({
      turns: [remember("first"), { ...remember("second"), delayMs: 15_000, delayTimes: 1 }, finish("woken by the alarm")],
    });
    await vi.waitFor(async () => expect((await llmStats(key)).requests).toBe(2), { timeout: 15_000, interval: 50 });
    await abortAllDurableObjects();
    // The fiber's keep-alive alarm survives the crash; when it fires, the agent recovers the fiber.
    const stub = env.GOAL_AGENT.get(env.GOAL_AGENT.idFromName(goal.id));
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const ended = await waitForRunEnd(run.id);
    expect(ended).toMatchObject({ status: "completed", summary: "woken by the alarm", stepsExecuted: 3 });
    expect((await stepsOf(run.id)).map((s) => s.stepNo)).toEqual([1, 2, 3]);
    expect((await llmStats(key)).requests).toBe(4);
  });

  it("accepts a run once however many times it is delivered", async () => {
    const { run, key, goal } = await startScriptedRun({ turns: [{ ...remember("once"), delayMs: 300 }, finish("ok")] });
    const agent = await getAgentByName(env.GOAL_AGENT, goal.id);
    const answers = await Promise.all([agent.acceptRun(run.id), agent.acceptRun(run.id), agent.acceptRun(run.id)]);
    expect(answers.filter((a) => a.accepted).length).toBeLessThanOrEqual(1);
    await waitForRunEnd(run.id);
    expect((await stepsOf(run.id)).map((s) => s.toolName)).toEqual(["remember", "finish"]);
    expect((await llmStats(key)).requests).toBe(2);
    expect(await agent.acceptRun(run.id)).toEqual({ accepted: false, state: "ended" });
  });

  it("fails a run left running with no checkpoint to resume, with a clear reason", async () => {
    const goal = await createGoal({ objective: "orphan" });
    const orphan = await insertRun(db, { goalId: goal.id, trigger: "manual", stepBudget: 20, status: "running" });
    const result = await deliver("async-agent-runs", [{ runId: orphan.id, goalId: goal.id }]);
    expect(result.explicitAcks).toHaveLength(1);
    expect(await waitForRunEnd(orphan.id)).toMatchObject({ status: "failed", error: expect.stringMatching(/no checkpoint exists to resume it/) });
  });
});

describe("the RUNS consumer", () => {
  it("acks invalid messages and finished runs, and re-sends a queued-overlap run for later", async () => {
    const goal = await createGoal({ objective: "overlap", params: { overlap: "queue" } });
    const done = await insertRun(db, { goalId: goal.id, trigger: "manual", stepBudget: 20, status: "completed" });
    await insertRun(db, { goalId: goal.id, trigger: "manual", stepBudget: 20, status: "running" });
    const waiting = await insertRun(db, { goalId: goal.id, trigger: "manual", stepBudget: 20 });
    const result = await deliver("async-agent-runs", [
      { nope: 1 },
      { runId: done.id, goalId: goal.id },
      { runId: waiting.id, goalId: goal.id, overlap: "queue" },
    ]);
    // The waiting run's message is acked and sent again with a delay, so waiting never uses up retries.
    expect(result.explicitAcks).toHaveLength(3);
    expect(result.retryMessages).toEqual([]);
    expect((await getRun(db, waiting.id))?.status).toBe("pending");
  });

  it("hands a message that carries a non-queue policy straight to the agent, which leaves an ended run alone", async () => {
    const goal = await createGoal({ objective: "straight through" });
    const cancelled = await insertRun(db, { goalId: goal.id, trigger: "manual", stepBudget: 20, status: "cancelled", endReason: "cancelled" });
    const result = await deliver("async-agent-runs", [{ runId: cancelled.id, goalId: goal.id, overlap: "skip" }]);
    expect(result.explicitAcks).toHaveLength(1);
    // The agent's fiber finds the run over in its first D1 batch and ends without touching it.
    const agent = await getAgentByName(env.GOAL_AGENT, goal.id);
    await vi.waitFor(async () => expect(await agent.isLive(cancelled.id)).toBe(false), { timeout: 5_000, interval: 50 });
    expect(await getRun(db, cancelled.id)).toMatchObject({ status: "cancelled", startedAt: null, stepsExecuted: 0 });
    expect(await stepsOf(cancelled.id)).toEqual([]);
  });

  it("marks a dead-lettered run failed with the reason", async () => {
    const goal = await createGoal({ objective: "dlq" });
    // A pending run whose hand-overs kept failing: the consumer noted the last error on it.
    const stuck = await insertRun(db, { goalId: goal.id, trigger: "manual", stepBudget: 20, error: "hand-over to the agent failed: agent unreachable" });
    const result = await deliver("async-agent-runs-dlq", [{ runId: stuck.id, goalId: goal.id }], 6);
    expect(result.explicitAcks).toHaveLength(1);
    expect(await getRun(db, stuck.id)).toMatchObject({
      status: "failed",
      endReason: "error",
      error: "the run could not be handed to its agent after 6 deliveries (dead-lettered); last error: hand-over to the agent failed: agent unreachable",
    });
  });
});

describe("cancel", () => {
  it("stops a running run at its next safe point and ends it cancelled", async () => {
    const { run } = await startScriptedRun({ turns: [remember("a"), { ...remember("b"), delayMs: 10_000 }, finish("never")] });
    await vi.waitFor(async () => expect((await stepsOf(run.id)).length).toBe(1), { timeout: 15_000, interval: 100 });
    const res = await api.post(`/runs/${run.id}/cancel`);
    expect(res.status).toBe(202);
    expect(res.body.id).toBe(run.id);
    const ended = await waitForRunEnd(run.id);
    expect(ended).toMatchObject({ status: "cancelled", endReason: "cancelled", stepsExecuted: 1 });
    expect((await api.post(`/runs/${run.id}/cancel`)).status).toBe(409);
  });

  it("cancels a pending run at once", async () => {
    const goal = await createGoal({ objective: "pending cancel" });
    const pending = await insertRun(db, { goalId: goal.id, trigger: "manual", stepBudget: 20 });
    const res = await api.post(`/runs/${pending.id}/cancel`);
    expect(res).toMatchObject({ status: 202, body: { status: "cancelled", endReason: "cancelled" } });
  });
});

describe("the run stream", () => {
  it("streams steps live, replays a finished run, and resumes after Last-Event-ID", async () => {
    const slow = (s: object) => ({ ...s, delayMs: 300 });
    const { run } = await startScriptedRun({ turns: [slow(remember("x")), slow(remember("y")), slow(remember("z")), slow(finish("streamed"))] });
    const live = await readStream(run.id);
    expect(live.map((e) => `${e.event}:${e.id}`)).toEqual(["run.started:0", "step:1", "step:2", "step:3", "step:4", "run.completed:end"]);
    expect(live[1].data).toMatchObject({ runId: run.id, stepNo: 1, toolName: "remember" });
    expect(live.at(-1)?.data).toMatchObject({ status: "completed", summary: "streamed" });
    const replay = await readStream(run.id);
    expect(replay.map((e) => e.event)).toEqual(live.map((e) => e.event));
    const resumed = await readStream(run.id, { "last-event-id": "2" });
    expect(resumed.map((e) => `${e.event}:${e.id}`)).toEqual(["step:3", "step:4", "run.completed:end"]);
    expect(await readStream(run.id, { "last-event-id": "end" })).toEqual([]);
  });

  it("ends the stream of a failed run with run.failed", async () => {
    const { run } = await startScriptedRun({ turns: [{ faults: [{ status: 403 }], text: "never" }] });
    const events = await readStream(run.id);
    expect(events.at(-1)).toMatchObject({ event: "run.failed", id: "end", data: { status: "failed" } });
  });
});
