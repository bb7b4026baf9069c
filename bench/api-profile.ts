/**
 * bench:api-profile — where a request's CPU goes inside the Worker's isolate, by owner: our code (worker/),
 * each library, the D1 binding's JavaScript, and the runtime's native work (Response, fetch, JSON, GC).
 * `wrangler dev` (unminified) is sampled by V8's CPU profiler through its inspector while BENCH_REQUESTS
 * sequential requests of each endpoint run, in BENCH_ROUNDS rounds that visit the endpoints in turn (after a
 * warm-up, so the JIT has settled); each sample is charged to the bundle module its function sits in. V8 inlines
 * small functions into their callers, so a few samples land on the caller's module.
 *
 * Sampling slows the isolate down, so the figures are larger than bench:api's: read the shares and the
 * differences between endpoints, not the absolute milliseconds. Work outside the isolate (the D1 emulator,
 * wrangler's proxy) is not in a profile; bench:api's process CPU has it.
 */
import { type DevServer, startDevServer } from "./lib/dev-server.ts";

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 2000);
const INTERVAL_US = Number(process.env.BENCH_SAMPLE_US ?? 250);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
const TOKEN = "bench-token-0123456789abcdef";
const headers = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };
const body = JSON.stringify({ objective: "bench goal", schedule: { cron: "0 16 * * 5", timezone: "Europe/Berlin" } });
const ENDPOINTS: [string, (url: string) => Promise<Response>][] = [
  ["GET /health", (u) => fetch(`${u}/health`)],
  ["GET /health/ready", (u) => fetch(`${u}/health/ready`, { headers })],
  ["GET /api/v1/goals", (u) => fetch(`${u}/api/v1/goals`, { headers })],
  ["POST /api/v1/goals", (u) => fetch(`${u}/api/v1/goals`, { method: "POST", headers, body })],
];

type CallFrame = { functionName: string; scriptId: string; url: string; lineNumber: number };
type Profile = { nodes: { id: number; callFrame: CallFrame }[]; samples: number[]; timeDeltas: number[] };

/** A DevTools protocol session with the Worker (wrangler's inspector proxy takes only local origins). */
async function inspector(server: DevServer) {
  const [target] = (await (await fetch(`http://127.0.0.1:${server.inspectorPort}/json`)).json()) as { webSocketDebuggerUrl: string }[];
  const ws = new WebSocket(target.webSocketDebuggerUrl, { headers: { origin: "http://localhost" } } as unknown as string[]);
  await new Promise((resolve, reject) => {
    ws.addEventListener("open", resolve);
    ws.addEventListener("error", () => reject(new Error("cannot reach the Worker's inspector")));
  });
  let next = 0;
  const pending = new Map<number, (result: unknown) => void>();
  ws.addEventListener("message", (m) => {
    const msg = JSON.parse(String(m.data)) as { id?: number; result?: unknown; error?: unknown };
    if (msg.id !== undefined) pending.get(msg.id)?.(msg.result ?? msg.error);
  });
  const send = <T>(method: string, params: object = {}) =>
    new Promise<T>((resolve) => {
      const id = ++next;
      pending.set(id, resolve as (r: unknown) => void);
      ws.send(JSON.stringify({ id, method, params }));
    });
  return { send, close: () => ws.close() };
}

/** For each line of the unminified bundle, the module esbuild put there ("// node_modules/hono/dist/..." comments). */
function moduleByLine(source: string): string[] {
  let current = "(bundle)";
  return source.split("\n").map((line) => {
    const m = /^\/\/ (\S+\.[cm]?[jt]s)$/.exec(line);
    if (m) current = m[1];
    return current;
  });
}

function ownerOf(frame: CallFrame, modules: Map<string, string[]>): string {
  if (frame.url.startsWith("cloudflare-internal:")) return "D1 binding (runtime JS)";
  if (!frame.url) return frame.functionName === "(idle)" ? "(idle)" : "runtime (native)";
  const path = modules.get(frame.scriptId)?.[frame.lineNumber] ?? "(bundle)";
  if (path.startsWith("worker/")) return "ours (worker/)";
  const pkg = /node_modules\/((@[^/]+\/)?[^/]+)/.exec(path)?.[1];
  if (pkg === "wrangler" || path.includes("wrangler/templates") || path.startsWith(".wrangler/")) return "wrangler dev wrapper";
  return pkg ?? path;
}

const server = await startDevServer(
  { API_TOKEN: TOKEN, LLM_PROVIDER: "openai", OPENAI_API_KEY: "unused", OPENAI_MODEL: "gpt-4.1-mini" },
  { args: ["--minify=false"] },
);
try {
  for (let i = 0; i < 10; i++) await (await ENDPOINTS[3][1](server.url)).arrayBuffer(); // 10 goals to list
  const { send, close } = await inspector(server);
  await send("Debugger.enable");
  await send("Profiler.enable");
  await send("Profiler.setSamplingInterval", { interval: INTERVAL_US });
  const modules = new Map<string, string[]>();
  const table = new Map<string, Map<string, number>>(); // endpoint → owner → ms per request
  for (const [, request] of ENDPOINTS) for (let i = 0; i < 300; i++) await (await request(server.url)).arrayBuffer();
  const perRound = Math.max(1, Math.round(REQUESTS / ROUNDS));
  for (let r = 0; r < ROUNDS; r++)
    for (const [name, request] of ENDPOINTS) {
      await send("Profiler.start");
      for (let i = 0; i < perRound; i++) await (await request(server.url)).arrayBuffer();
      const { profile } = await send<{ profile: Profile }>("Profiler.stop");
      const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
      for (const f of frames.values())
        if (f.url === "index.js" && !modules.has(f.scriptId))
          modules.set(f.scriptId, moduleByLine((await send<{ scriptSource: string }>("Debugger.getScriptSource", { scriptId: f.scriptId })).scriptSource));
      const owners = table.get(name) ?? new Map<string, number>();
      profile.samples.forEach((id, i) => {
        const owner = ownerOf(frames.get(id)!, modules);
        if (owner !== "(idle)") owners.set(owner, (owners.get(owner) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000 / (perRound * ROUNDS));
      });
      table.set(name, owners);
    }
  close();

  const health = table.get("GET /health")!;
  const owners = [...new Set([...table.values()].flatMap((m) => [...m.keys()]))]
    .map((o) => ({ o, total: Math.max(...[...table.values()].map((m) => m.get(o) ?? 0)) }))
    .filter((x) => x.total >= 0.02)
    .sort((a, b) => b.total - a.total)
    .map((x) => x.o);
  console.log(
    `bench:api-profile — isolate CPU by owner, ms per request while sampled every ${INTERVAL_US} µs (${perRound * ROUNDS} requests each in ${ROUNDS} rounds; in brackets: beyond /health)`,
  );
  console.log(`${"owner".padEnd(28)}${ENDPOINTS.map(([n]) => n.padStart(24)).join("")}`);
  const cell = (name: string, o: string) => {
    const v = table.get(name)!.get(o) ?? 0;
    return name === "GET /health" ? v.toFixed(3) : `${v.toFixed(3)} (${(v - (health.get(o) ?? 0)).toFixed(3)})`;
  };
  for (const o of owners) console.log(`${o.padEnd(28)}${ENDPOINTS.map(([n]) => cell(n, o).padStart(24)).join("")}`);
  const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
  console.log(
    `${"total".padEnd(28)}${ENDPOINTS.map(([n]) => (n === "GET /health" ? sum(health).toFixed(3) : `${sum(table.get(n)!).toFixed(3)} (${(sum(table.get(n)!) - sum(health)).toFixed(3)})`).padStart(24)).join("")}`,
  );
} finally {
  await server.stop();
}
