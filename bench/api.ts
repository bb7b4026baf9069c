/**
 * bench:api — the API's handlers side by side with the local platform's floor, both on `wrangler dev` on
 * 127.0.0.1, for a D1 holding 10 and then 1,000 goals (BENCH_GOALS):
 * - the API: `GET /health`, the authenticated `GET /health/ready` (one `SELECT 1`), `GET /goals` and `POST /goals`;
 * - the floor (bench/floor-worker.ts, a Worker with no framework and no code of ours): a bare request, and
 *   the very statements the list and the create send, through the raw D1 binding, on a D1 seeded alike.
 * Each endpoint gets
 * - CPU per request: its server's workerd CPU (per-thread schedstat in /proc, nanoseconds) over BENCH_CPU_REQUESTS
 *   sequential requests, in BENCH_ROUNDS short rounds that visit every endpoint in turn (a shared machine's speed
 *   drifts: each round's differences are taken within the round, and the median round is reported);
 * - "beyond bare": that minus the same server's bare request (the API's /health, the floor's bare request);
 * - "ours": the handler beyond /health minus the floor's same query beyond its bare request. Locally one D1 query
 *   costs about 2 ms of workerd CPU however it is sent (the emulator runs in the same process; on Cloudflare only
 *   the binding's JavaScript runs in the Worker), so "ours" is what our code adds: routing, the bearer check,
 *   validation, drizzle and the mapping of rows to the answer. Its mean with a 95% interval shows the noise;
 * - throughput: requests/s and p50/p99 latency with 50 connections for BENCH_SECONDS, and the workerd CPU per
 *   request under that load ("load CPU/req").
 * Target (issue 13): list and create cost ≤ 0.3 ms of CPU beyond /health besides their one query ("ours").
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type DevServer, type LocalD1, percentile, startDevServer } from "./lib/dev-server.ts";

const SIZES = (process.env.BENCH_GOALS ?? "10,1000").split(",").map(Number);
const CONCURRENCY = 50;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CPU_REQUESTS = Number(process.env.BENCH_CPU_REQUESTS ?? 2000);
// Short rounds: the machine's speed drifts less between the endpoints of one round than over a long one.
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 100);
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

type Endpoint = { name: string; on: "api" | "floor"; request: (url: string) => Promise<Response>; status: number };
const headers = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };
const body = JSON.stringify({ objective: "bench goal", schedule: { cron: "0 16 * * 5", timezone: "Europe/Berlin" } });
const ENDPOINTS: Endpoint[] = [
  { name: "GET /health", on: "api", request: (u) => fetch(`${u}/health`), status: 200 },
  { name: "GET /health/ready", on: "api", request: (u) => fetch(`${u}/health/ready`, { headers }), status: 200 },
  { name: "GET /api/v1/goals", on: "api", request: (u) => fetch(`${u}/api/v1/goals`, { headers }), status: 200 },
  { name: "POST /api/v1/goals", on: "api", request: (u) => fetch(`${u}/api/v1/goals`, { method: "POST", headers, body }), status: 201 },
  { name: "bare request", on: "floor", request: (u) => fetch(`${u}/health`), status: 200 },
  { name: "list's query", on: "floor", request: (u) => fetch(`${u}/goals`, { headers }), status: 200 },
  { name: "create's insert", on: "floor", request: (u) => fetch(`${u}/goals`, { method: "POST", headers, body }), status: 201 },
];
// Indexes in ENDPOINTS: each API handler with the floor's request that sends its query.
const [HEALTH, READY, BARE] = [0, 1, 4];
const FLOOR_OF: Record<number, number> = { 2: 5, 3: 6 };

type Servers = { api: DevServer; floor: DevServer };

/** CPU ms per request of each endpoint, one figure per round (the rounds interleave the endpoints). */
async function cpuPerRequest(servers: Servers): Promise<number[][]> {
  for (const e of ENDPOINTS) for (let i = 0; i < 20; i++) await (await e.request(servers[e.on].url)).arrayBuffer(); // warm
  const perRound = Math.max(1, Math.round(CPU_REQUESTS / ROUNDS));
  const rounds: number[][] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const row: number[] = [];
    for (const e of ENDPOINTS) {
      const server = servers[e.on];
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

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

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
  `${"goals".padStart(6)}  ${"endpoint".padEnd(20)} ${"CPU/req".padStart(9)} ${"beyond bare".padStart(12)} ${"ours".padStart(9)} ${"req/s".padStart(8)} ${"p50".padStart(9)} ${"p99".padStart(9)}  errors  load CPU/req`,
);
const VARS = { API_TOKEN: TOKEN, LLM_PROVIDER: "openai", OPENAI_API_KEY: "unused", OPENAI_MODEL: "gpt-4.1-mini" };
for (const goals of SIZES) {
  const seedDir = mkdtempSync(join(tmpdir(), "async-agent-bench-api-"));
  const seedFile = join(seedDir, "seed.sql");
  writeFileSync(seedFile, seedSql(goals));
  const seed = { beforeStart: (d1: LocalD1) => d1.exec(seedFile) };
  const api = await startDevServer(VARS, seed);
  const floor = await startDevServer({}, { ...seed, config: join(import.meta.dirname, "floor.wrangler.toml") }).catch(async (e) => {
    await api.stop();
    throw e;
  });
  rmSync(seedDir, { recursive: true });
  try {
    const servers = { api, floor };
    const rounds = await cpuPerRequest(servers);
    const col = (i: number) => median(rounds.map((r) => r[i]));
    // Differences are taken within each round: the API's beyond its /health, the floor's beyond its bare request.
    const beyondOf = (i: number) => median(rounds.map((r) => r[i] - r[ENDPOINTS[i].on === "api" ? HEALTH : BARE]));
    const oursOf = (i: number) => rounds.map((r) => r[i] - r[HEALTH] - (r[FLOOR_OF[i]] - r[BARE]));
    for (const [i, e] of ENDPOINTS.entries()) {
      const l = await load(servers[e.on], e);
      const f = (n: number) => n.toFixed(2);
      const beyond = i === HEALTH || i === BARE ? "—" : `${f(beyondOf(i))} ms`;
      const ours = FLOOR_OF[i] !== undefined ? `${f(median(oursOf(i)))} ms` : i === READY ? "(1 query)" : "—";
      const name = e.on === "floor" ? `floor: ${e.name}` : e.name;
      console.log(
        `${String(goals).padStart(6)}  ${name.padEnd(22)} ${`${f(col(i))} ms`.padStart(9)} ${beyond.padStart(12)} ${ours.padStart(9)} ${l.rps.toFixed(0).padStart(8)} ${`${f(l.p50)} ms`.padStart(9)} ${`${f(l.p99)} ms`.padStart(9)}  ${String(l.errors).padStart(6)}  ${f(l.cpuMs)} ms`,
      );
    }
    // The rounds' spread says how far to trust "ours" on this machine: the mean with its 95% interval.
    const interval = (xs: number[]) => {
      const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
      const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1));
      return `${mean.toFixed(2)} ± ${((1.96 * sd) / Math.sqrt(xs.length)).toFixed(2)} ms`;
    };
    console.log(
      `${" ".repeat(8)}ours, mean of ${rounds.length} rounds with its 95% interval: ${Object.keys(FLOOR_OF)
        .map((i) => `${ENDPOINTS[Number(i)].name} ${interval(oursOf(Number(i)))}`)
        .join(", ")}`,
    );
  } finally {
    await Promise.all([api.stop(), floor.stop()]);
  }
}
