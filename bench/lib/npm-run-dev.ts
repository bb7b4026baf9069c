/**
 * `npm run dev -- <args>` as a user starts it, for the end-to-end test and the first-hour benchmark: its
 * own process group (stopped with SIGTERM, the dev runner then stops its wrangler), output captured.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { delimiter, join } from "node:path";

const ROOT = new URL("../..", import.meta.url).pathname;

/** The dev runner's verdict block, from its first line to its last. */
export const VERDICT = /async-agent \S+ on http:\/\/127\.0\.0\.1:\d+[\s\S]*?Ctrl-C stops\./;

export type Proc = {
  child: ChildProcess;
  output: () => string;
  waitFor: (re: RegExp, ms: number, from?: number) => Promise<RegExpMatchArray>;
  exited: Promise<number | null>;
};

/** `npm run dev -- <args>` with `node` on PATH being `nodeDir`'s. */
export function npmRunDev(nodeDir: string, port: number, args: string[]): Proc {
  const npmCli = process.env.npm_execpath;
  const [cmd, argv] = npmCli && /\.c?js$/.test(npmCli) ? [join(nodeDir, "node"), [npmCli]] : ["npm", []];
  const child = spawn(cmd, [...argv, "run", "--silent", "dev", "--", ...args], {
    cwd: ROOT,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      PATH: `${nodeDir}${delimiter}${process.env.PATH}`,
      PORT: String(port),
      NO_COLOR: "1",
      WRANGLER_SEND_METRICS: "false",
      DO_NOT_TRACK: "1",
    },
  });
  let out = "";
  const listeners = new Set<() => void>();
  for (const s of [child.stdout!, child.stderr!])
    s.on("data", (d) => {
      out += d;
      for (const l of listeners) l();
    });
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  const waitFor = (re: RegExp, ms: number, from = 0) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const check = () => {
        const m = out.slice(from).match(re);
        if (m) {
          listeners.delete(check);
          clearTimeout(timer);
          resolve(m);
        }
      };
      const timer = setTimeout(() => {
        listeners.delete(check);
        reject(new Error(`no ${re} within ${ms} ms; output:\n${out}`));
      }, ms);
      listeners.add(check);
      check();
    });
  return { child, output: () => out, waitFor, exited };
}

/** SIGTERM to the group npm started: the dev runner stops its wrangler in turn. */
export async function stop(p: Proc) {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  try {
    process.kill(-p.child.pid!, "SIGTERM");
  } catch {
    return;
  }
  await Promise.race([p.exited, new Promise((r) => setTimeout(r, 15_000))]);
}
