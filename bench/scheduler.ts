/**
 * bench:scheduler — one cron tick against a local D1 with 100,000 goals, 10,000 of them due in the
 * same minute (1,000 of those hours behind, to exercise catch-up). `wrangler dev` on 127.0.0.1 with a
 * throwaway --persist-to dir, seeded with a generated SQL file; the tick is triggered through
 * /cdn-cgi/handler/scheduled with a fixed time. The RUNS consumer is left out of the bench config so the
 * 10,000 messages wait on the local queue instead of starting agents: this measures dispatch only.
 * Prints wall time, D1 queries per invocation, runs created, messages enqueued and duplicates (must be 0).
 * Target: all due goals dispatched within 10 s wall, no invocation above 500 D1 queries.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Cron } from "croner";
import { type DevServer, startDevServer } from "./lib/dev-server.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const TOTAL = 100_000;
const DUE = 10_000;
const BEHIND = 1_000; // of the due goals, missed several fire times
const TICK = Date.parse("2026-06-15T09:00:00Z"); // a Monday

// Schedules that all fire at TICK, in several zones (DST in effect in June for Berlin and New York).
const DUE_SCHEDULES: [string, string][] = [
  ["0 9 * * *", "UTC"],
  ["0 11 * * *", "Europe/Berlin"],
  ["0 5 * * *", "America/New_York"],
  ["*/15 * * * *", "UTC"],
  ["0 18 * * 1", "Asia/Tokyo"],
  ["30 * * * *", "Asia/Kolkata"],
  ["30 14 * * 1-5", "Asia/Kolkata"],
  ["0 9 15 * *", "UTC"],
];

function sql(s: string) {
  return `'${s.replace(/'/g, "''")}'`;
}

function seed(file: string) {
  for (const [cron, tz] of DUE_SCHEDULES) {
    const prev = new Cron(cron, { timezone: tz, paused: true, mode: "5-part" }).previousRuns(1, new Date(TICK + 1))[0];
    if (prev?.getTime() !== TICK) throw new Error(`bench schedule ${cron} ${tz} does not fire at the tick`);
  }
  const hourly = new Cron("30 * * * *", { timezone: "Asia/Kolkata", paused: true, mode: "5-part" });
  const behindAt = hourly.previousRuns(4, new Date(TICK))[3].getTime(); // 4 fire times back
  const lines: string[] = [];
  let rows: string[] = [];
  for (let i = 0; i < TOTAL; i++) {
    const id = `goal_bench${String(i).padStart(8, "0")}${"0".repeat(10)}`;
    let status = "active";
    let next: number | null;
    let [cron, tz] = DUE_SCHEDULES[i % DUE_SCHEDULES.length];
    if (i < DUE - BEHIND) next = TICK;
    else if (i < DUE) [cron, tz, next] = ["30 * * * *", "Asia/Kolkata", behindAt];
    else if (i % 10 === 0) [status, next] = ["paused", null];
    else next = TICK + 60_000 * (1 + (i % 10_000)); // due in the coming week
    const params = i % 3 === 0 ? `{"overlap":"allow"}` : "{}";
    rows.push(
      `(${sql(id)},'bench goal ${i}',${sql(status)},${sql(cron)},${sql(tz)},${next ?? "NULL"},${sql(params)},${TICK - 86_400_000},${TICK - 86_400_000})`,
    );
    if (rows.length === 400 || i === TOTAL - 1) {
      // D1 statements are capped at 100 KB
      lines.push(`INSERT INTO goals (id, objective, status, cron, timezone, next_run_at, params, created_at, updated_at) VALUES ${rows.join(",")};`);
      rows = [];
    }
  }
  writeFileSync(file, lines.join("\n"));
}

/** The project's wrangler.toml, with absolute paths and without queue consumers. */
function benchConfig(dir: string): string {
  const toml = readFileSync(join(ROOT, "wrangler.toml"), "utf8")
    .replace(/^main = "(.*)"$/m, (_, p) => `main = "${join(ROOT, p)}"`)
    .replace(/^migrations_dir = "(.*)"$/m, (_, p) => `migrations_dir = "${join(ROOT, p)}"`)
    .replace(/^("[^"]+" = )"(\.\/[^"]+)"$/gm, (_, k, p) => `${k}"${join(ROOT, p)}"`) // [alias] targets
    .replace(/^(directory|watch_dir) = "(.*)"$/gm, (_, k, p) => `${k} = "${join(ROOT, p)}"`) // [assets], [build]
    .replace(/^\[build\]$/m, `[build]\ncwd = "${ROOT}"`)
    .replace(/\[\[queues\.consumers\]\][\s\S]*?(?=\n\[|$)/g, "");
  const file = join(dir, "wrangler.toml");
  writeFileSync(file, toml);
  return file;
}

type Tick = { due: number; created: number; enqueued: number; queries: number; pages: number; more: boolean; ms: number };

const dir = mkdtempSync(join(tmpdir(), "async-agent-bench-scheduler-"));
const config = benchConfig(dir);
let server: DevServer | undefined;
try {
  let t = performance.now();
  const seedFile = join(dir, "seed.sql");
  seed(seedFile);
  server = await startDevServer({}, { config, logLevel: "log", beforeStart: (d1) => d1.exec(seedFile) });
  console.log(
    `seeded ${TOTAL.toLocaleString()} goals (${DUE.toLocaleString()} due at ${new Date(TICK).toISOString()}) and started in ${((performance.now() - t) / 1000).toFixed(1)} s`,
  );
  const { url } = server;
  const output = () => server!.logs();

  // Ticks at the same minute until nothing is due: one is expected; each extra one shows the continuation.
  const ticks: (Tick & { wallMs: number })[] = [];
  const started = performance.now();
  for (let i = 0; i < 10; i++) {
    const before = output().length;
    t = performance.now();
    const res = await fetch(`${url}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent("* * * * *")}&time=${TICK}`);
    const body = await res.text();
    const wallMs = performance.now() - t;
    if (!res.ok) throw new Error(`scheduled handler: ${res.status} ${body}\n${output().slice(before)}`);
    await new Promise((r) => setTimeout(r, 200)); // let the log line arrive
    const line = output()
      .slice(before)
      .split("\n")
      .find((l) => l.includes('"scheduler.tick"'));
    const tick: Tick = line ? JSON.parse(line.slice(line.indexOf("{"))) : { due: 0, created: 0, enqueued: 0, queries: 0, pages: 0, more: false, ms: 0 };
    ticks.push({ ...tick, wallMs });
    if (!tick.more) break;
  }
  const dispatchWall = performance.now() - started;
  // The same tick again: must create nothing.
  const again = await fetch(`${url}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent("* * * * *")}&time=${TICK}`);
  if (!again.ok) throw new Error(`second tick: ${again.status}`);
  await server.kill(); // the counts are read from the persisted state, with no server holding it

  const [counts] = server.query<{ runs: number; pairs: number; pending: number; skipped: number; stillDue: number; caughtUp: number }>(
    `SELECT (SELECT count(*) FROM runs) AS runs,
            (SELECT count(DISTINCT goal_id || ':' || scheduled_for) FROM runs) AS pairs,
            (SELECT count(*) FROM runs WHERE status = 'pending') AS pending,
            (SELECT count(*) FROM runs WHERE status = 'skipped') AS skipped,
            (SELECT count(*) FROM goals WHERE status = 'active' AND next_run_at <= ${TICK}) AS stillDue,
            (SELECT count(*) FROM runs WHERE skipped_count > 0) AS caughtUp`,
  );
  const enqueued = ticks.reduce((s, x) => s + x.enqueued, 0);
  console.log(`invocations                ${ticks.length}`);
  for (const [i, x] of ticks.entries())
    console.log(
      `  tick ${i + 1}: due ${x.due}, runs created ${x.created}, enqueued ${x.enqueued}, pages ${x.pages}, D1 queries ${x.queries}, handler ${x.ms} ms, wall ${x.wallMs.toFixed(0)} ms`,
    );
  console.log(`wall time (all due)        ${(dispatchWall / 1000).toFixed(2)} s`);
  console.log(`max D1 queries/invocation  ${Math.max(...ticks.map((x) => x.queries))}`);
  console.log(`runs created               ${counts.runs} (${counts.pending} pending, ${counts.skipped} skipped, ${counts.caughtUp} with catch-up skips)`);
  console.log(`messages enqueued          ${enqueued}`);
  console.log(`duplicates                 ${counts.runs - counts.pairs}`);
  console.log(`goals still due            ${counts.stillDue}`);
  const ok = counts.runs === DUE && counts.runs === counts.pairs && counts.stillDue === 0 && enqueued === counts.pending;
  const fast = dispatchWall < 10_000 && Math.max(...ticks.map((x) => x.queries)) <= 500;
  console.log(ok && fast ? "PASS" : `FAIL (correct: ${ok}, within target: ${fast})`);
  process.exitCode = ok && fast ? 0 : 1;
} finally {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
}
