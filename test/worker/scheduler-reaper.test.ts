import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { newId } from "../../worker/lib/ids";
import { MAX_ATTEMPTS } from "../../worker/scheduler/reaper";
import { dispatchDueGoals } from "../../worker/scheduler/scheduled";
import { createGoal } from "./api";
import { insertRunRow, ms, quiesce, recordingQueue, runById, tick } from "./scheduler-helpers";

afterEach(quiesce);

const MIN = 60_000;
// wrangler.toml: RUN_HEARTBEAT_TIMEOUT_SECONDS = 600
const STALE = 10 * MIN;

/** A reaper pass with the RUNS queue recorded, so no real consumer changes the rows under the test. */
async function reapAt(now: number) {
  const q = recordingQueue();
  const stats = await dispatchDueGoals({ ...env, RUNS: q.queue }, new Date(now));
  return { stats, sent: q.messages() };
}

async function runFor(status: "running" | "pending", at: number, o: { heartbeatAgo?: number; attempts?: number; ageMs?: number; goalParams?: object } = {}) {
  const goal = await createGoal({ params: o.goalParams ?? {} });
  const id = newId("run", at - (o.ageMs ?? STALE + MIN));
  const quietSince = at - (o.heartbeatAgo ?? STALE + MIN);
  await insertRunRow({
    id,
    goalId: goal.id,
    status,
    createdAt: at - (o.ageMs ?? STALE + MIN),
    updatedAt: quietSince,
    heartbeatAt: status === "running" ? quietSince : null,
    attempts: o.attempts ?? 1,
  });
  return { id, goalId: goal.id as string };
}

describe("reaper", () => {
  it("re-enqueues a running run whose agent heartbeat went quiet, and counts the attempt", async () => {
    const at = ms("2026-04-01T12:00:00Z");
    const run = await runFor("running", at);
    const { stats, sent } = await reapAt(at);
    expect(stats.reaped).toMatchObject({ requeued: 1, failed: 0 });
    expect(sent).toEqual([{ runId: run.id, goalId: run.goalId }]);
    expect(await runById(run.id)).toMatchObject({ status: "running", attempts: 2 });
  });

  it("leaves a run with a recent heartbeat alone, however long it has been running", async () => {
    const at = ms("2026-04-02T12:00:00Z");
    const run = await runFor("running", at, { heartbeatAgo: 2 * MIN, ageMs: 3 * 3600_000 });
    const { sent } = await reapAt(at);
    expect(sent).toEqual([]);
    expect(await runById(run.id)).toMatchObject({ status: "running", attempts: 1, error: null });
  });

  it("fails a stale running run after its last attempt, through the cron handler, with the reason", async () => {
    const at = ms("2026-04-03T12:00:00Z");
    const run = await runFor("running", at, { attempts: MAX_ATTEMPTS });
    await tick(at);
    const row = await runById(run.id);
    expect(row).toMatchObject({ status: "failed", end_reason: "error", ended_at: at });
    expect(row?.error).toMatch(/no heartbeat from the agent for 10 min, after 3 attempt/);
  });

  it("re-enqueues a pending run nobody picked up, and fails it once its attempts are spent: never pending for ever", async () => {
    let at = ms("2026-04-04T12:00:00Z");
    const run = await runFor("pending", at);
    for (let attempt = 2; attempt <= MAX_ATTEMPTS; attempt++) {
      const { sent } = await reapAt(at);
      expect(sent).toEqual([{ runId: run.id, goalId: run.goalId }]);
      expect(await runById(run.id)).toMatchObject({ status: "pending", attempts: attempt });
      expect((await reapAt(at + MIN)).sent).toEqual([]); // not stale again until the timeout passes
      at += STALE + MIN;
    }
    const { stats, sent } = await reapAt(at);
    expect(sent).toEqual([]);
    expect(stats.reaped.failed).toBe(1);
    const row = await runById(run.id);
    expect(row).toMatchObject({ status: "failed", end_reason: "error" });
    expect(row?.error).toMatch(/no consumer picked the run up/);
  });

  it("fails a stale run older than a day at once, whatever its attempts", async () => {
    const at = ms("2026-04-05T12:00:00Z");
    const run = await runFor("running", at, { ageMs: 25 * 3600_000 });
    const { sent } = await reapAt(at);
    expect(sent).toEqual([]);
    expect(await runById(run.id)).toMatchObject({ status: "failed", attempts: 1 });
  });

  it("does not reap a queued run that waits behind an earlier run of its goal", async () => {
    const at = ms("2026-04-06T12:00:00Z");
    const goal = await createGoal({ params: { overlap: "queue" } });
    const earlier = newId("run", at - 30 * MIN);
    const waiting = newId("run", at - 20 * MIN);
    await insertRunRow({ id: earlier, goalId: goal.id, status: "running", createdAt: at - 30 * MIN, heartbeatAt: at - MIN });
    await insertRunRow({ id: waiting, goalId: goal.id, status: "pending", createdAt: at - 20 * MIN });
    const { sent } = await reapAt(at);
    expect(sent).toEqual([]);
    expect(await runById(waiting)).toMatchObject({ status: "pending", attempts: 1 });
  });
});
