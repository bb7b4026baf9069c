import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { dbFor } from "../../worker/db/client";
import { getGoal } from "../../worker/db/goals";
import { createRuns } from "../../worker/db/scheduling";
import { newId } from "../../worker/lib/ids";
import { Cron } from "croner";
import { formatLocal, nextFireTimes } from "../../worker/domain/next-fire";
import { mustWaitForPrevious } from "../../worker/queue/consumer";
import { startRunNow } from "../../worker/scheduler/dispatch";
import { dispatchDueGoals } from "../../worker/scheduler/scheduled";
import { script } from "./agent-helpers";
import { api, createGoal } from "./api";
import { insertRunRow, ms, nextRunAt, quiesce, recordingQueue, runById, runsOf, scheduledGoal, setNextRunAt, tick } from "./scheduler-helpers";

afterEach(quiesce);

const finishRuns = (goalId: string) =>
  env.DB.prepare("UPDATE runs SET status = 'completed' WHERE goal_id = ? AND status IN ('pending', 'running')").bind(goalId).run();

describe("scheduler: DST-correct fire times, daily and weekly", () => {
  // fires: consecutive fire times in UTC; ghost: the repeated local hour, which must not fire again.
  // biome-ignore format: one case per line reads as a table
  const cases = [
    { name: "New York spring forward, daily", cron: "30 2 * * *", tz: "America/New_York", fires: ["2026-03-07T07:30:00Z", "2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"] },
    { name: "New York spring forward, weekly", cron: "30 2 * * 0", tz: "America/New_York", fires: ["2026-03-01T07:30:00Z", "2026-03-08T07:00:00Z", "2026-03-15T06:30:00Z"] },
    { name: "New York fall back, daily", cron: "30 1 * * *", tz: "America/New_York", fires: ["2026-10-31T05:30:00Z", "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"], ghost: "2026-11-01T06:30:00Z" },
    { name: "New York fall back, weekly", cron: "30 1 * * 0", tz: "America/New_York", fires: ["2026-10-25T05:30:00Z", "2026-11-01T05:30:00Z", "2026-11-08T06:30:00Z"], ghost: "2026-11-01T06:30:00Z" },
    { name: "Berlin spring forward, daily", cron: "30 2 * * *", tz: "Europe/Berlin", fires: ["2026-03-28T01:30:00Z", "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"] },
    { name: "Berlin spring forward, weekly", cron: "30 2 * * 0", tz: "Europe/Berlin", fires: ["2026-03-22T01:30:00Z", "2026-03-29T01:00:00Z", "2026-04-05T00:30:00Z"] },
    { name: "Berlin fall back, daily", cron: "30 2 * * *", tz: "Europe/Berlin", fires: ["2026-10-24T00:30:00Z", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"], ghost: "2026-10-25T01:30:00Z" },
    { name: "Berlin fall back, weekly", cron: "30 2 * * 0", tz: "Europe/Berlin", fires: ["2026-10-18T00:30:00Z", "2026-10-25T00:30:00Z", "2026-11-01T01:30:00Z"], ghost: "2026-10-25T01:30:00Z" },
  ];

  for (const c of cases) {
    it(`${c.name}: one run per fire time, at the shifted local time, never twice in a repeated hour`, async () => {
      const goalId = await scheduledGoal(c.cron, c.tz, c.fires[0]);
      for (let i = 0; i < 2; i++) {
        await tick(ms(c.fires[i]) - 60_000); // a minute early: nothing is due
        expect(await runsOf(goalId)).toHaveLength(i);
        await tick(c.fires[i]);
        const runs = await runsOf(goalId);
        expect(runs).toHaveLength(i + 1);
        expect(runs[i]).toMatchObject({ scheduled_for: ms(c.fires[i]), skipped_count: 0, trigger: "schedule" });
        expect(await nextRunAt(goalId)).toBe(ms(c.fires[i + 1]));
        await finishRuns(goalId);
      }
      if (c.ghost) await tick(c.ghost);
      expect(await runsOf(goalId)).toHaveLength(2);
      // The transition-day run is at 03:00 local when 02:30 did not exist, else at the cron's time.
      const local = formatLocal(new Date(ms(c.fires[1])), c.tz);
      expect(local).toContain(
        c.fires[1].endsWith("07:00:00Z") || c.fires[1].endsWith("01:00:00Z") ? " 03:00 " : c.cron.startsWith("30 1") ? " 01:30 " : " 02:30 ",
      );
    });
  }
});

describe("fire times shared by goals with one schedule", () => {
  it("answers every instant, fire times and DST days included, exactly as croner computes it afresh", () => {
    const schedules: [string, string][] = [
      ["30 2 * * *", "Europe/Berlin"],
      ["30 1 * * *", "America/New_York"],
      ["*/7 * * * *", "Asia/Kolkata"],
      ["0 0 29 2 *", "UTC"],
    ];
    for (const [cron, tz] of schedules) {
      const fresh = new Cron(cron, { timezone: tz, paused: true, mode: "5-part" });
      // Instants moving forward (as goals are created and fire), landing on fire times and between them,
      // and one step back in time (a preview of an older instant).
      let at = Date.parse("2026-10-24T00:00:00Z");
      for (let i = 0; i < 60; i++) {
        const fires = fresh.nextRuns(6, new Date(at));
        const after = i % 3 === 0 ? fires[0].getTime() : i % 3 === 1 ? at + 1 : at;
        for (const count of [1, 2, 3, 6])
          expect(nextFireTimes(cron, tz, new Date(after), count).map((d) => d.toISOString())).toEqual(
            fresh.nextRuns(count, new Date(after)).map((d) => d.toISOString()),
          );
        at = i === 30 ? at - 86_400_000 : fires[Math.min(fires.length - 1, i % 4)].getTime() - (i % 2) * 1000;
      }
    }
  });
});

describe("scheduler: exactly one run per fire time", () => {
  it("the same tick twice, one after the other or at once, creates one run", async () => {
    const goalId = await scheduledGoal("0 9 * * *", "UTC", "2026-05-04T09:00:00Z");
    await tick("2026-05-04T09:00:00Z");
    await tick("2026-05-04T09:00:00Z");
    await Promise.all([tick("2026-05-04T09:00:30Z"), tick("2026-05-04T09:00:30Z")]);
    const runs = await runsOf(goalId);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ scheduled_for: ms("2026-05-04T09:00:00Z"), status: expect.not.stringMatching(/skipped/) });
    expect(await nextRunAt(goalId)).toBe(ms("2026-05-05T09:00:00Z"));
  });

  it("a fire time dispatched again (a tick that read the goal before it advanced) creates no second run and sends nothing", async () => {
    const goalId = await scheduledGoal("0 9 * * *", "UTC", "2026-05-06T09:00:00Z");
    await tick("2026-05-06T09:00:00Z");
    await setNextRunAt(goalId, "2026-05-06T09:00:00Z"); // as if a racing tick still saw the old value
    const q = recordingQueue();
    const stats = await dispatchDueGoals({ ...env, RUNS: q.queue }, new Date("2026-05-06T09:00:00Z"));
    expect(stats).toMatchObject({ due: 1, created: 0, enqueued: 0 });
    expect(q.messages()).toEqual([]);
    expect(await runsOf(goalId)).toHaveLength(1);
    expect(await nextRunAt(goalId)).toBe(ms("2026-05-07T09:00:00Z"));
  });

  it("the unique key (goal, fire time) turns a second insert of the same fire time into a no-op", async () => {
    const goalId = await scheduledGoal("0 9 * * *", "UTC", "2026-05-08T09:00:00Z");
    const plan = (runId: string) => ({
      runId,
      goalId,
      trigger: "schedule" as const,
      scheduledFor: ms("2026-05-08T09:00:00Z"),
      skippedCount: 0,
      expectNextRunAt: ms("2026-05-08T09:00:00Z"),
      nextRunAt: ms("2026-05-09T09:00:00Z"),
    });
    await setNextRunAt(goalId, "2026-05-08T09:00:00Z");
    const first = await createRuns(env.DB, [plan(newId("run"))], Date.now(), 10);
    await setNextRunAt(goalId, "2026-05-08T09:00:00Z");
    const second = await createRuns(env.DB, [plan(newId("run"))], Date.now(), 10);
    expect(first).toHaveLength(1);
    expect(second).toEqual([]);
    expect(await runsOf(goalId)).toHaveLength(1);
  });
});

describe("scheduler: catch-up", () => {
  it("after a gap, runs once for the latest missed fire time and records how many it skipped", async () => {
    const goalId = await scheduledGoal("0 * * * *", "UTC", "2026-06-01T09:00:00Z");
    await tick("2026-06-01T12:07:00Z"); // the Worker was down from before 09:00 until 12:07
    const runs = await runsOf(goalId);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ scheduled_for: ms("2026-06-01T12:00:00Z"), skipped_count: 3 });
    expect(await nextRunAt(goalId)).toBe(ms("2026-06-01T13:00:00Z"));
  });

  it("catch-up across a DST change picks the right latest fire time and count", async () => {
    const berlin = await scheduledGoal("30 2 * * *", "Europe/Berlin", "2026-03-27T01:30:00Z");
    const newYork = await scheduledGoal("30 1 * * *", "America/New_York", "2026-10-30T05:30:00Z");
    await tick("2026-03-30T06:00:00Z");
    expect(await runsOf(berlin)).toMatchObject([{ scheduled_for: ms("2026-03-30T00:30:00Z"), skipped_count: 3 }]);
    expect(await nextRunAt(berlin)).toBe(ms("2026-03-31T00:30:00Z"));
    await api.post(`/goals/${berlin}/pause`);
    await tick("2026-11-01T06:45:00Z"); // after the repeated 01:30: the run is for its first occurrence
    expect(await runsOf(newYork)).toMatchObject([{ scheduled_for: ms("2026-11-01T05:30:00Z"), skipped_count: 2 }]);
    expect(await nextRunAt(newYork)).toBe(ms("2026-11-02T06:30:00Z"));
  });

  it("a goal far behind still runs once, for the latest fire time, and counts what it skipped", async () => {
    const goalId = await scheduledGoal("* * * * *", "Asia/Tokyo", "2026-06-02T00:00:00Z");
    await tick("2026-06-05T00:00:00Z"); // three days of every-minute fires missed
    const runs = await runsOf(goalId);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ scheduled_for: ms("2026-06-05T00:00:00Z"), skipped_count: 3 * 24 * 60 });
    expect(await nextRunAt(goalId)).toBe(ms("2026-06-05T00:01:00Z"));
  });
});

describe("scheduler: overlap policies", () => {
  const busyGoal = async (overlap: string | undefined, fire: string) => {
    const goalId = await scheduledGoal("*/5 * * * *", "UTC", fire, overlap ? { overlap } : {});
    const busyId = newId("run", ms(fire) - 60_000);
    await insertRunRow({ id: busyId, goalId, status: "running", createdAt: ms(fire) - 60_000, heartbeatAt: ms(fire) - 1000 });
    return { goalId, busyId };
  };

  it("skip (the default) records the fire time as a skipped run with the reason", async () => {
    const { goalId, busyId } = await busyGoal(undefined, "2026-07-01T10:00:00Z");
    await tick("2026-07-01T10:00:00Z");
    const fired = (await runsOf(goalId)).find((r) => r.scheduled_for === ms("2026-07-01T10:00:00Z"));
    expect(fired).toMatchObject({ status: "skipped", end_reason: "skipped" });
    expect(fired?.error).toContain(busyId);
    expect(fired?.ended_at).not.toBeNull();
    expect(await nextRunAt(goalId)).toBe(ms("2026-07-01T10:05:00Z"));
  });

  it("queue creates the run, which waits until the earlier runs end, in order", async () => {
    const { goalId, busyId } = await busyGoal("queue", "2026-07-02T10:00:00Z");
    await tick("2026-07-02T10:00:00Z");
    await tick("2026-07-02T10:05:00Z");
    const queued = (await runsOf(goalId)).filter((r) => r.id !== busyId);
    expect(queued.map((r) => r.scheduled_for)).toEqual([ms("2026-07-02T10:00:00Z"), ms("2026-07-02T10:05:00Z")]);
    expect(queued.every((r) => r.status !== "skipped")).toBe(true);
    const goal = (await getGoal(dbFor(env.DB), goalId))!;
    const db = dbFor(env.DB);
    expect(await mustWaitForPrevious(db, goal, queued[0].id)).toBe(true);
    await env.DB.prepare("UPDATE runs SET status = 'completed' WHERE id = ?").bind(busyId).run();
    await env.DB.prepare("UPDATE runs SET status = 'pending' WHERE id IN (?, ?)").bind(queued[0].id, queued[1].id).run();
    expect(await mustWaitForPrevious(db, goal, queued[0].id)).toBe(false);
    expect(await mustWaitForPrevious(db, goal, queued[1].id)).toBe(true); // behind the first queued run
  });

  it("allow creates a pending run while another is running, and it need not wait", async () => {
    const { goalId, busyId } = await busyGoal("allow", "2026-07-03T10:00:00Z");
    await tick("2026-07-03T10:00:00Z");
    const fired = (await runsOf(goalId)).find((r) => r.id !== busyId);
    expect(fired).toMatchObject({ scheduled_for: ms("2026-07-03T10:00:00Z"), skipped_count: 0 });
    expect(fired?.status).not.toBe("skipped");
    const goal = (await getGoal(dbFor(env.DB), goalId))!;
    expect(await mustWaitForPrevious(dbFor(env.DB), goal, fired!.id)).toBe(false);
  });
});

describe("scheduler: pause, resume, reschedule, manual runs", () => {
  it("a paused goal does not fire; resume recomputes next_run_at from now with no burst", async () => {
    const goal = await createGoal({ schedule: { cron: "* * * * *", timezone: "UTC" } });
    await setNextRunAt(goal.id, "2026-08-01T10:00:00Z");
    const paused = await api.post(`/goals/${goal.id}/pause`);
    expect(paused.body).toMatchObject({ status: "paused", nextRunAt: null, nextFireTimes: [] });
    await tick("2026-08-01T10:00:00Z");
    await tick("2026-08-01T10:30:00Z");
    expect(await runsOf(goal.id)).toHaveLength(0);

    const before = Date.now();
    const resumed = await api.post(`/goals/${goal.id}/resume`);
    const next = Date.parse(resumed.body.nextRunAt);
    expect(next).toBeGreaterThan(before - 1000);
    expect(next).toBeLessThanOrEqual(before + 61_000);
    expect(next % 60_000).toBe(0);
    await tick(next);
    const runs = await runsOf(goal.id);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ scheduled_for: next, skipped_count: 0 });
  });

  it("changing the schedule recomputes next_run_at at once, shown in local time and UTC", async () => {
    const goal = await createGoal({ schedule: { cron: "0 0 1 1 *", timezone: "UTC" } });
    const res = await api.patch(`/goals/${goal.id}`, { schedule: { cron: "0 9 * * *", timezone: "Asia/Tokyo" } });
    expect(res.status).toBe(200);
    const next = Date.parse(res.body.nextRunAt);
    expect(next).toBeGreaterThan(Date.now() - 1000);
    expect(next).toBeLessThanOrEqual(Date.now() + 24 * 3600_000);
    expect(new Date(next).getUTCHours()).toBe(0); // 09:00 JST is 00:00 UTC
    expect(res.body.nextFireTimes).toHaveLength(3);
    for (const f of res.body.nextFireTimes) expect(f.local).toMatch(/ 09:00 /);
    expect(await nextRunAt(goal.id)).toBe(next);
  });

  it("GET /goals/:id shows the stored next fire times in the goal's zone and in UTC across a DST change", async () => {
    const goalId = await scheduledGoal("0 16 * * 5", "Europe/Berlin", "2026-10-23T14:00:00Z");
    const res = await api.get(`/goals/${goalId}`);
    expect(res.body.nextRunAt).toBe("2026-10-23T14:00:00.000Z");
    expect(res.body.nextFireTimes.map((f: { utc: string }) => f.utc)).toEqual([
      "2026-10-23T14:00:00.000Z",
      "2026-10-30T15:00:00.000Z",
      "2026-11-06T15:00:00.000Z",
    ]);
    const locals: string[] = res.body.nextFireTimes.map((f: { local: string }) => f.local);
    expect(locals[0]).toMatch(/^Fri 2026-10-23 16:00 /);
    expect(locals[1]).toMatch(/^Fri 2026-10-30 16:00 /);
    expect(locals[0].slice(21)).not.toBe(locals[1].slice(21)); // summer vs winter zone name
  });

  it("a run-now whose queue send fails still answers with its run (a retry must not start a second one)", async () => {
    const goal = await createGoal({});
    const failing = {
      ...env,
      RUNS: { send: async () => Promise.reject(new Error("queue down")), sendBatch: async () => Promise.reject(new Error("queue down")) },
    };
    const started = await startRunNow(failing as unknown as typeof env, dbFor(env.DB), goal.id, { trigger: "manual" });
    expect("run" in started && started.run.status).toBe("pending");
    // Recorded once, pending: the reaper re-sends a pending run nobody picked up.
    expect((await runsOf(goal.id)).map((r) => r.status)).toEqual(["pending"]);
  });

  it("a manual run goes through the same path: pending and enqueued, or skipped by the overlap policy", async () => {
    // Run-now also hands the run to its agent at once: a slow model keeps this first run active meanwhile.
    const { marker } = await script({ turns: [{ text: "slow answer", delayMs: 15_000 }] });
    const goal = await createGoal({ objective: `Slow goal ${marker}` });
    const first = await api.post(`/goals/${goal.id}/run`);
    expect(first.status).toBe(202);
    expect(first.body).toMatchObject({ status: "pending", trigger: "manual", scheduledFor: null });
    expect((await runById(first.body.id))?.attempts).toBe(1);
    // Its agent marks it running (and the slow model keeps it so).
    await vi.waitFor(async () => expect((await runById(first.body.id))?.status).toBe("running"), { timeout: 10_000 });
    const second = await api.post(`/goals/${goal.id}/run`);
    expect(second.status).toBe(202);
    expect(second.body).toMatchObject({ status: "skipped", endReason: "skipped" });
    expect(second.body.error).toContain(first.body.id);
  });
});

describe("scheduler: scale within one tick's limits", () => {
  const seedDue = async (n: number, firstFire: number, spreadMs: number) => {
    const rows = Array.from({ length: n }, (_, i) => ({ id: newId("goal"), next: firstFire + i * spreadMs }));
    await env.DB.prepare(
      `INSERT INTO goals (id, objective, status, cron, timezone, next_run_at, params)
       SELECT json_extract(value, '$.id'), 'bulk', 'active', '* * * * *', 'UTC', json_extract(value, '$.next'), '{}' FROM json_each(?)`,
    )
      .bind(JSON.stringify(rows))
      .run();
    return rows;
  };

  it("enqueues in batches of at most 100 and uses a handful of D1 queries for hundreds of goals", async () => {
    const at = ms("2026-09-01T12:00:00Z");
    const rows = await seedDue(250, at, 0);
    const q = recordingQueue();
    const stats = await dispatchDueGoals({ ...env, RUNS: q.queue }, new Date(at));
    expect(stats).toMatchObject({ due: 250, created: 250, enqueued: 250, more: false });
    // 12:00 is also the hourly prune of expired Idempotency-Key records: one more statement; expiring
    // waits is one batch of two more.
    expect(stats.queries).toBeLessThanOrEqual(9);
    expect(Math.max(...q.batches.map((b) => b.length))).toBeLessThanOrEqual(100);
    expect(new Set(q.messages().map((m) => m.runId)).size).toBe(250);
    expect(new Set(q.messages().map((m) => m.goalId))).toEqual(new Set(rows.map((r) => r.id)));
  });

  it("beyond the per-tick cap, the rest continue on the next tick in next_run_at order, none lost or doubled", async () => {
    const at = ms("2026-09-02T12:00:00Z");
    const rows = await seedDue(7, at, 60_000);
    const q = recordingQueue();
    const now = new Date(at + 7 * 60_000);
    const limits = { pageSize: 2, maxDuePerTick: 3 };
    const first = await dispatchDueGoals({ ...env, RUNS: q.queue }, now, limits);
    expect(first).toMatchObject({ due: 3, created: 3, more: true });
    expect(q.messages().map((m) => m.goalId)).toEqual(rows.slice(0, 3).map((r) => r.id)); // oldest first
    await dispatchDueGoals({ ...env, RUNS: q.queue }, now, limits);
    const last = await dispatchDueGoals({ ...env, RUNS: q.queue }, now, limits);
    expect(last).toMatchObject({ due: 1, created: 1, more: false });
    expect(q.messages().map((m) => m.goalId)).toEqual(rows.map((r) => r.id));
    for (const r of rows) expect(await runsOf(r.id)).toHaveLength(1);
  });
});
