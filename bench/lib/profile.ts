/**
 * CPU profile of the Worker under `wrangler dev`, through wrangler's DevTools inspector (Chrome DevTools
 * protocol). Durable Objects run in the Worker's isolate locally, so the profile covers the agents too;
 * the local D1 and queue emulation run elsewhere in workerd and show up only as time we wait for.
 * Usage: `const stop = await startProfile(port); …; await stop("out.cpuprofile")`, then open the file in
 * Chrome DevTools, or read the summary this prints.
 */
import { writeFileSync } from "node:fs";

type Node = { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] };
type Profile = { nodes: Node[]; samples: number[]; timeDeltas: number[] };

export async function startProfile(inspectorPort: number): Promise<(file: string) => Promise<void>> {
  const [target] = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json()) as { webSocketDebuggerUrl: string }[];
  // wrangler's inspector proxy wants an allowed Origin; Node's WebSocket takes headers as an extension.
  const ws = new WebSocket(target.webSocketDebuggerUrl, { headers: { origin: "http://localhost" } } as never);
  await new Promise((resolve, reject) => (ws.addEventListener("open", resolve), ws.addEventListener("error", reject)));
  let next = 1;
  const pending = new Map<number, (r: unknown) => void>();
  ws.addEventListener("message", (m: MessageEvent) => {
    // workerd answers some commands by echoing them without a `result`: any message with our id is the answer.
    const msg = JSON.parse(String(m.data)) as { id?: number; result?: unknown };
    if (msg.id) pending.get(msg.id)?.(msg.result);
  });
  const call = <T>(method: string, params: object = {}) =>
    new Promise<T>((resolve) => {
      const id = next++;
      pending.set(id, resolve as (r: unknown) => void);
      ws.send(JSON.stringify({ id, method, params }));
    });
  await call("Profiler.enable");
  await call("Profiler.setSamplingInterval", { interval: 200 });
  await call("Profiler.start");
  return async (file) => {
    const { profile } = await call<{ profile: Profile }>("Profiler.stop");
    ws.close();
    writeFileSync(file, JSON.stringify(profile));
    summarize(profile);
  };
}

/** Prints self time by function and by source file, the largest first. */
function summarize(p: Profile) {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  p.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const fn = new Map<string, number>();
  const file = new Map<string, number>();
  for (const [id, us] of self) {
    const f = byId.get(id)!.callFrame;
    const where = f.url.split("/").slice(-2).join("/") || "(native)";
    fn.set(
      `${f.functionName || "(anonymous)"} ${where}:${f.lineNumber + 1}`,
      (fn.get(`${f.functionName || "(anonymous)"} ${where}:${f.lineNumber + 1}`) ?? 0) + us,
    );
    file.set(where, (file.get(where) ?? 0) + us);
  }
  // Inclusive time: each sample counts once for every distinct function on its stack.
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const label = (id: number) => {
    const f = byId.get(id)!.callFrame;
    return `${f.functionName || "(anonymous)"} ${f.url.split("/").slice(-2).join("/") || "(native)"}:${f.lineNumber + 1}`;
  };
  const incl = new Map<string, number>();
  for (const [id, us] of self) {
    const seen = new Set<string>();
    for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) seen.add(label(n));
    for (const k of seen) incl.set(k, (incl.get(k) ?? 0) + us);
  }
  for (const k of [...incl.keys()]) if (/^\((root|idle|program|garbage collector)\)/.test(k)) incl.delete(k);
  const top = (m: Map<string, number>, n: number) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, us]) => `  ${(us / 1000).toFixed(0).padStart(7)} ms ${((100 * us) / total).toFixed(1).padStart(5)}%  ${k}`)
      .join("\n");
  console.log(
    `\nCPU profile: ${(total / 1000).toFixed(0)} ms sampled\nby function (self):\n${top(fn, 40)}\nby function (inclusive):\n${top(incl, 60)}\nby file (self):\n${top(file, 15)}`,
  );
}
