/**
 * bench:mcp — what calling a tool of a remote MCP server costs a run, measured on `wrangler dev` against a
 * real MCP server (the official SDK's server, test/fakes/mcp.ts, on 127.0.0.1) registered with a bearer header.
 * Each run is BENCH_CALLS (20) turns of one `<server>__lookup` call, scripted through the zero-latency fake LLM.
 * - Added latency per call: the step's duration as the agent recorded it (argument check, the guarded
 *   fetch, rendering, redaction) minus the server's own time for that tools/call (arrival → end of its
 *   answer, from the server's log). Median and p90 over the calls after each run's first.
 * - Cost of connecting per run: the first call's added latency minus the median of the later ones (the
 *   first call opens the connection: initialize and its notification), and the requests it took.
 * Step durations are whole milliseconds (Date.now() in workerd): read the figures as ±1 ms.
 */
import { loadavg } from "node:os";
import { startMcp } from "../test/fakes/mcp.ts";
import type { McpLogEntry } from "../test/fakes/mcp.ts";
import { api, percentile, scriptedGoal, startBench, waitForEnd } from "./lib/agent-runs.ts";

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const CALLS = Number(process.env.BENCH_CALLS ?? 20);
const TOKEN = `bench-${crypto.randomUUID()}`;
const KEY = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64");

const mcp = await startMcp();
const control = `http://127.0.0.1:${mcp.port}`;
const bench = await startBench({ MCP_SECRETS_KEY: KEY });
try {
  const srv = (await (await fetch(`${control}/servers`, { method: "POST", body: JSON.stringify({ token: TOKEN }) })).json()) as { id: string; url: string };
  const log = async () => ((await (await fetch(`${control}/servers/${srv.id}/log`)).json()) as { entries: McpLogEntry[] }).entries;
  const registered = Date.now();
  await api(bench, "POST", "/mcp-servers", { name: "bench", url: `${srv.url}/mcp`, headers: { Authorization: `Bearer ${TOKEN}` } });
  console.log(`registration (connect, initialise, list, seal, store): ${Date.now() - registered} ms`);

  const runOnce = async () => {
    const { goalId } = await scriptedGoal(
      bench,
      { turns: [], then: { toolCalls: [{ name: "bench__lookup", arguments: { query: "latency" } }] }, closing: { text: "Benchmark done." } },
      { stepBudget: CALLS, mcpServers: ["bench"] },
    );
    const seen = (await log()).length;
    const run = await api<{ id: string }>(bench, "POST", `/goals/${goalId}/run`);
    const [ended] = [...(await waitForEnd(bench, [run.id])).values()];
    if (ended.status !== "completed") throw new Error(`run ${run.id} ended ${ended.status}`);
    const steps = (
      await api<{ items: { toolName: string | null; durationMs: number; error: string | null }[] }>(bench, "GET", `/runs/${run.id}/steps?limit=500`)
    ).items;
    const mine = (await log()).slice(seen);
    const served = mine.filter((e) => e.method === "tools/call").map((e) => e.ms ?? NaN);
    const calls = steps.filter((s) => s.toolName === "bench__lookup");
    if (calls.some((s) => s.error) || calls.length !== served.length)
      throw new Error(`run ${run.id}: ${calls.length} calls, ${served.length} served, errors: ${calls.find((s) => s.error)?.error}`);
    const added = calls.map((s, i) => s.durationMs - served[i]);
    const firstRequests = mine.slice(0, mine.findIndex((e) => e.method === "tools/call") + 1).map((e) => e.method);
    return { added, served, firstRequests };
  };

  await runOnce(); // warm-up: the first run of an isolate compiles what later runs reuse
  const later: number[] = [];
  const connect: number[] = [];
  const server: number[] = [];
  let firstRequests: string[] = [];
  for (let r = 0; r < RUNS; r++) {
    const res = await runOnce();
    const rest = res.added.slice(1).sort((a, b) => a - b);
    later.push(...rest);
    connect.push(res.added[0] - percentile(rest, 50));
    server.push(...res.served);
    firstRequests = res.firstRequests;
  }
  later.sort((a, b) => a - b);
  server.sort((a, b) => a - b);
  connect.sort((a, b) => a - b);
  const f = (n: number) => n.toFixed(1);
  console.log(`\nbench:mcp — ${RUNS} runs × ${CALLS} calls of bench__lookup on wrangler dev, MCP server on 127.0.0.1, load average ${loadavg()[0].toFixed(1)}`);
  console.log(`  server's own time per call: median ${f(percentile(server, 50))} ms, p90 ${f(percentile(server, 90))} ms`);
  console.log(`  added latency per call (after the first): median ${f(percentile(later, 50))} ms, p90 ${f(percentile(later, 90))} ms`);
  console.log(`  connecting (first call of a run, over a later one): median ${f(percentile(connect, 50))} ms, max ${f(connect[connect.length - 1])} ms`);
  console.log(`  requests before the first call's answer: ${firstRequests.join(" → ")}`);
} finally {
  await bench.stop();
  await mcp.close();
}
