/**
 * bench:api — the API's handlers side by side with the platform's floor, on `wrangler dev` on 127.0.0.1:
 * for a D1 holding 10 and then 1,000 goals (BENCH_GOALS), each endpoint gets
 * - CPU per request: the workerd processes' CPU (from /proc) over BENCH_CPU_REQUESTS sequential requests, taken
 *   in BENCH_ROUNDS rounds that visit every endpoint in turn (a shared machine's speed drifts over a minute: each
 *   round's differences are taken within the round, and the median round is reported),
 *   and that minus a bare `GET /health` on the same server (the handler's own cost: auth, validation, query);
 * - throughput: requests/s and p50/p99 latency with 50 connections for BENCH_SECONDS, and the workerd CPU
 *   per request under that load ("load CPU/req");
 * - one D1 query's cost in the local emulator: `GET /health/ready` (authenticated: one `SELECT 1`, the cached
 *   LLM check, the bearer check) minus `/health`. On Cloudflare the query runs in D1 and only the binding's
 *   JavaScript in the Worker (bench:api-profile shows its share); locally the emulation runs in the same
 *   workerd process, so "own" is beyond /health minus that query.
 * Targets: list p99 under 50 ms; list and create ≤ 0.3 ms of CPU beyond /health (each does one query).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type DevServer, percentile, startDevServer } from "./lib/dev-server.ts";

const SIZES = (process.env.BENCH_GOALS ?? "10,1000").split(",").map(Number);
const CONCURRENCY = 50;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CPU_REQUESTS = Number(process.env.BENCH_CPU_REQUESTS ?? 1000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10);
const TOKEN = "bench-token-0123456789abcdef";

function seedSql(goals: number): string {
  const now = Date.now();
  const rows: string[] = [];
  for (let i = 0; i < goals; i++) {
    // Same shape as worker/lib/ids.ts: time-ordered base32 + randomness.
    const id = `goal_${(now - goals + i).toString(32).padStart(10, "0")}${Math.random().toString(32).slice(2, 18).padEnd(16, "0")}`;
    rows.push(`('${id}','bench objective ${i}','active','0 9 * * *','UTC',${now + 3_600_000},'{}',${now},${now})`);
  }
  const chunks: string[] = [];
  for (let i = 0; i < rows.length; i += 500)
    chunks.push(
      `INSERT INTO goals (id, objective, status, cron, timezone, next_run_at, params, created_at, updated_at) VALUES ${rows.slice(i, i + 500).join(",")};`,
    );
  return chunks.join("\n");
}

type Endpoint = { name: string; request: (url: string) => Promise<Response>; status: number };
const headers = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };
const body = JSON.stringify({ objective: "bench goal", schedule: { cron: "0 16 * * 5", timezone: "Europe/Berlin" } });
const ENDPOINTS: Endpoint[] = [
  { name: "GET /health", request: (u) => fetch(`${u}/health`), status: 200 },
  { name: "GET /health/ready", request: (u) => fetch(`${u}/health/ready`, { headers }), status: 200 },
  { name: "GET /api/v1/goals", request: (u) => fetch(`${u}/api/v1/goals`, { headers }), status: 200 },
  { name: "POST /api/v1/goals", request: (u) => fetch(`${u}/api/v1/goals`, { method: "POST", headers, body }), status: 201 },
];

/** CPU ms per request of each endpoint, one figure per round (the rounds interleave the endpoints). */
async function cpuPerRequest(server: DevServer): Promise<number[][]> {
  for (const e of ENDPOINTS) for (let i = 0; i < 20; i++) await (await e.request(server.url)).arrayBuffer(); // warm
  const perRound = Math.max(1, Math.round(CPU_REQUESTS / ROUNDS));
  const rounds: number[][] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const row: number[] = [];
    for (const e of ENDPOINTS) {
      const before = server.workerdCpuSeconds();
      for (let i = 0; i < perRound; i++) {
        const res = await e.request(server.url);
        await res.arrayBuffer();
        if (res.status !== e.status) throw new Error(`${e.name}: ${res.status}`);
      }
      row.push(((server.workerdCpuSeconds() - before) * 1000) / perRound);
    }
    rounds.push(row);
  }
  return rounds;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function load(server: DevServer, e: Endpoint) {
  const latencies: number[] = [];
  let errors = 0;
  const end = Date.now() + SECONDS * 1000;
  const started = performance.now();
  const cpuBefore = server.workerdCpuSeconds();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() < end) {
        const t = performance.now();
        try {
          const res = await e.request(server.url);
          await res.arrayBuffer();
          if (res.status !== e.status) errors++;
        } catch {
          errors++;
        }
        latencies.push(performance.now() - t);
      }
    }),
  );
  const cpuMs = ((server.workerdCpuSeconds() - cpuBefore) * 1000) / latencies.length;
  latencies.sort((a, b) => a - b);
  return { cpuMs, rps: latencies.length / ((performance.now() - started) / 1000), p50: percentile(latencies, 50), p99: percentile(latencies, 99), errors };
}

console.log(
  `bench:api — CPU over ${CPU_REQUESTS} sequential requests per endpoint in ${ROUNDS} interleaved rounds (medians of the rounds); load: ${CONCURRENCY} connections × ${SECONDS} s per endpoint`,
);
console.log(
  `${"goals".padStart(6)}  ${"endpoint".padEnd(20)} ${"CPU/req".padStart(9)} ${"beyond /health".padStart(15)} ${"own".padStart(9)} ${"req/s".padStart(8)} ${"p50".padStart(8)} ${"p99".padStart(8)}  errors`,
);
for (const goals of SIZES) {
  const seedFile = join(mkdtempSync(join(tmpdir(), "async-agent-bench-api-")), "seed.sql");
  writeFileSync(seedFile, seedSql(goals));
  const server = await startDevServer(
    { API_TOKEN: TOKEN, LLM_PROVIDER: "openai", OPENAI_API_KEY: "unused", OPENAI_MODEL: "gpt-4.1-mini" },
    { beforeStart: (d1) => d1.exec(seedFile) },
  );
  rmSync(seedFile);
  try {
    // Indexes in ENDPOINTS: 0 /health, 1 /health/ready (one query); differences are taken within each round.
    const rounds = await cpuPerRequest(server);
    const col = (i: number) => median(rounds.map((r) => r[i]));
    const beyondOf = (i: number) => median(rounds.map((r) => r[i] - r[0]));
    const ownOf = (i: number) => median(rounds.map((r) => r[i] - r[0] - (r[1] - r[0])));
    for (const [i, e] of ENDPOINTS.entries()) {
      const l = await load(server, e);
      const f = (n: number) => n.toFixed(2);
      const beyond = i === 0 ? "—" : `${f(beyondOf(i))} ms`;
      const own = i === 0 ? "—" : i === 1 ? "(1 query)" : `${f(ownOf(i))} ms`;
      console.log(
        `${String(goals).padStart(6)}  ${e.name.padEnd(20)} ${`${f(col(i))} ms`.padStart(9)} ${beyond.padStart(15)} ${own.padStart(9)} ${l.rps.toFixed(0).padStart(8)} ${`${f(l.p50)} ms`.padStart(8)} ${`${f(l.p99)} ms`.padStart(8)}  ${l.errors}  load CPU/req ${f(l.cpuMs)} ms`,
      );
    }
  } finally {
    await server.stop();
  }
}
