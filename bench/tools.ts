/**
 * bench:tools — fetch_page's extraction (HTML → markdown-ish text) of a ~1 MB realistic news page inside
 * workerd (`wrangler dev` on 127.0.0.1, bench/tools-worker.ts). Prints the median and p90 over
 * BENCH_ITERS requests, timed inside the Worker and from outside (minus a no-op request's median).
 * Target: median under 50 ms.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { percentile } from "./lib/dev-server.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const ITERS = Number(process.env.BENCH_ITERS ?? 30);
const PORT = 18000 + Math.floor(Math.random() * 2000);

const child = spawn(
  join(ROOT, "node_modules/.bin/wrangler"),
  ["dev", "--config", "bench/tools.wrangler.toml", "--ip", "127.0.0.1", "--port", String(PORT), "--log-level", "warn"],
  { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], detached: true, env: { ...process.env, CI: "true" } },
);
let output = "";
child.stdout.on("data", (d) => (output += d));
child.stderr.on("data", (d) => (output += d));
const url = `http://127.0.0.1:${PORT}`;

async function timed(path: string) {
  const t = performance.now();
  const res = await fetch(url + path);
  const body = (await res.json()) as { ms?: number; inBytes?: number; outChars?: number };
  return { wall: performance.now() - t, ...body };
}

try {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited:\n${output}`);
    if (Date.now() > deadline) throw new Error(`wrangler dev did not start:\n${output}`);
    try {
      if ((await fetch(`${url}/noop`)).ok) break;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  for (let i = 0; i < 3; i++) await timed("/"); // warm up (JIT)
  const noop: number[] = [];
  const inside: number[] = [];
  const wall: number[] = [];
  let sample = { inBytes: 0, outChars: 0 };
  for (let i = 0; i < ITERS; i++) {
    noop.push((await timed("/noop")).wall);
    const r = await timed("/");
    inside.push(r.ms ?? NaN);
    wall.push(r.wall);
    sample = { inBytes: r.inBytes ?? 0, outChars: r.outChars ?? 0 };
  }
  const sort = (a: number[]) => [...a].sort((x, y) => x - y);
  const f = (n: number) => n.toFixed(1);
  const baseline = percentile(sort(noop), 50);
  console.log(
    `fetch_page extraction of a ${(sample.inBytes / 1024).toFixed(0)} KiB HTML page → ${(sample.outChars / 1024).toFixed(0)} KiB text, ${ITERS} runs in workerd`,
  );
  console.log(`  inside the Worker: median ${f(percentile(sort(inside), 50))} ms  p90 ${f(percentile(sort(inside), 90))} ms`);
  console.log(
    `  request wall time minus no-op (${f(baseline)} ms): median ${f(percentile(sort(wall), 50) - baseline)} ms  p90 ${f(percentile(sort(wall), 90) - baseline)} ms`,
  );
  console.log(`  target: median < 50 ms → ${percentile(sort(inside), 50) < 50 ? "met" : "NOT met"}`);
} finally {
  if (child.pid) process.kill(-child.pid, "SIGTERM");
}
