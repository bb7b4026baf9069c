/**
 * bench:api — the API under load on this machine: `wrangler dev` on 127.0.0.1 with 10,000 goals in the local D1,
 * 50 concurrent connections for a bounded time against `GET /api/v1/goals?limit=50`, then `POST /api/v1/goals`.
 * Prints requests/s and p50/p99 latency. Target: list p99 under 50 ms.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { percentile, startDevServer } from "./lib/dev-server.ts";

const GOALS = 10_000;
const CONCURRENCY = 50;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const TOKEN = "bench-token";

function seedSql(): string {
  const now = Date.now();
  const rows: string[] = [];
  for (let i = 0; i < GOALS; i++) {
    // Same shape as worker/lib/ids.ts: time-ordered base32 + randomness.
    const id = `goal_${(now - GOALS + i).toString(32).padStart(10, "0")}${Math.random().toString(32).slice(2, 18).padEnd(16, "0")}`;
    rows.push(`('${id}','bench objective ${i}','active','0 9 * * *','UTC',${now + 3_600_000},'{}',${now},${now})`);
  }
  const chunks: string[] = [];
  for (let i = 0; i < rows.length; i += 500)
    chunks.push(
      `INSERT INTO goals (id, objective, status, cron, timezone, next_run_at, params, created_at, updated_at) VALUES ${rows.slice(i, i + 500).join(",")};`,
    );
  return chunks.join("\n");
}

async function load(name: string, request: () => Promise<Response>, expectStatus: number, connections = CONCURRENCY) {
  const latencies: number[] = [];
  let errors = 0;
  const end = Date.now() + SECONDS * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (Date.now() < end) {
        const t = performance.now();
        try {
          const res = await request();
          await res.arrayBuffer();
          if (res.status !== expectStatus) errors++;
        } catch {
          errors++;
        }
        latencies.push(performance.now() - t);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const f = (n: number) => n.toFixed(1);
  console.log(
    `${name.padEnd(28)} ${String(connections).padStart(2)} conn ${String(latencies.length).padStart(6)} req  ${f(latencies.length / elapsed).padStart(7)} req/s  p50 ${f(percentile(latencies, 50))} ms  p99 ${f(percentile(latencies, 99))} ms  errors ${errors}`,
  );
}

const seedFile = join(mkdtempSync(join(tmpdir(), "async-agent-bench-api-")), "seed.sql");
writeFileSync(seedFile, seedSql());
const server = await startDevServer(
  { API_TOKEN: TOKEN, LLM_PROVIDER: "openai", OPENAI_API_KEY: "unused", OPENAI_MODEL: "gpt-4.1-mini" },
  { beforeStart: (d1) => d1.exec(seedFile) },
);
rmSync(seedFile);
try {
  const headers = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };
  const check = await fetch(`${server.url}/api/v1/goals?limit=50`, { headers });
  const page = (await check.json()) as { items: unknown[] };
  console.log(`bench:api — ${GOALS} goals seeded, ${CONCURRENCY} connections, ${SECONDS} s per endpoint (first page: ${page.items.length} goals)`);
  // The floor: wrangler dev's own overhead on this machine, no D1, no auth.
  await load("GET /health", () => fetch(`${server.url}/health`), 200);
  await load("GET /api/v1/goals?limit=50", () => fetch(`${server.url}/api/v1/goals?limit=50`, { headers }), 200);
  // One connection: the latency of a request without queueing behind 49 others.
  await load("GET /api/v1/goals?limit=50", () => fetch(`${server.url}/api/v1/goals?limit=50`, { headers }), 200, 1);
  const body = JSON.stringify({ objective: "bench goal", schedule: { cron: "0 16 * * 5", timezone: "Europe/Berlin" } });
  await load("POST /api/v1/goals", () => fetch(`${server.url}/api/v1/goals`, { method: "POST", headers, body }), 201);
} finally {
  await server.stop();
}
