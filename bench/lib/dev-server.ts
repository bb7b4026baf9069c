/**
 * Starts the Worker with `wrangler dev` on 127.0.0.1 for a benchmark or the CLI tests: a throwaway persist dir,
 * the local D1 migrated (and optionally seeded before start), the given vars, free ports. Only this local
 * server is ever targeted.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** No usage metrics to Cloudflare from the wranglers we start: tests and benches send traffic only to 127.0.0.1. */
const quietEnv = () => ({ ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false", DO_NOT_TRACK: "1" });
const ROOT = new URL("../..", import.meta.url).pathname;
const WRANGLER = join(ROOT, "node_modules/.bin/wrangler");

/** The local D1 of a dev server, through `wrangler d1 execute --local`. */
export type LocalD1 = { exec: (sqlFile: string) => void; query: <T>(sql: string) => T[] };

export type DevServer = LocalD1 & {
  url: string;
  persistDir: string;
  /** wrangler's DevTools inspector (Chrome DevTools protocol) for the Worker. */
  inspectorPort: number;
  /** Everything wrangler printed so far (the Worker's console lines included). */
  logs: () => string;
  /**
   * CPU seconds used so far by the dev server's workerd processes (Linux /proc). workerd runs every
   * Worker, Durable Object and the local D1/Queues emulation on one main thread, so this bounds what
   * a local benchmark can show.
   */
  workerdCpuSeconds: () => number;
  /**
   * Stops wrangler and keeps the state, so it can still be queried or started again (`persistDir` option).
   * SIGTERM (the default) lets wrangler shut down; SIGKILL takes the whole process group down at once, as a
   * crash or a power cut would.
   */
  kill: (signal?: "SIGTERM" | "SIGKILL") => Promise<void>;
  /** Stops wrangler and removes the state. */
  stop: () => Promise<void>;
};

export type DevServerOptions = {
  logLevel?: string;
  /** Another wrangler config (e.g. one without queue consumers); paths in it must be absolute. */
  config?: string;
  /** Runs after the migrations, before wrangler dev starts (seeding without a server holding the DB). */
  beforeStart?: (d1: LocalD1) => void;
  /** More `wrangler dev` arguments. */
  args?: string[];
  /** Start on this existing state (a restart after `kill`) instead of a fresh throwaway directory. */
  persistDir?: string;
};

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

function wrangler(args: string[]): string {
  const r = spawnSync(WRANGLER, args, { cwd: ROOT, encoding: "utf8", env: quietEnv(), maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`wrangler ${args.slice(0, 3).join(" ")} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

export async function startDevServer(vars: Record<string, string>, opts: DevServerOptions = {}): Promise<DevServer> {
  const persistDir = opts.persistDir ?? mkdtempSync(join(tmpdir(), "async-agent-dev-"));
  const envFile = join(persistDir, "dev.vars");
  writeFileSync(
    envFile,
    Object.entries(vars)
      .map(([k, v]) => `${k}=${v}`)
      .join("\n"),
  );
  const target = [...(opts.config ? ["--config", opts.config] : []), "--persist-to", persistDir];
  const d1: LocalD1 = {
    exec: (file) => void wrangler(["d1", "execute", "DB", "--local", ...target, "--file", file, "--yes"]),
    query: <T>(sql: string) => JSON.parse(wrangler(["d1", "execute", "DB", "--local", ...target, "--json", "--command", sql]))[0].results as T[],
  };
  wrangler(["d1", "migrations", "apply", "DB", "--local", ...target]);
  opts.beforeStart?.(d1);

  const [port, inspector] = [await freePort(), await freePort()];
  const child = spawn(
    WRANGLER,
    [
      "dev",
      ...target,
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--inspector-port",
      String(inspector),
      "--env-file",
      envFile,
      "--log-level",
      opts.logLevel ?? "warn",
      ...(opts.args ?? []),
    ],
    { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], detached: true, env: quietEnv() },
  );
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const kill = async (signal: "SIGTERM" | "SIGKILL" = "SIGTERM") => {
    // wrangler itself may be gone while a workerd of its group lives on: the group gets the signal regardless.
    if (child.exitCode !== null || child.signalCode !== null) {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {}
      return;
    }
    const exited = new Promise((r) => child.once("exit", r));
    try {
      process.kill(-child.pid!, signal);
    } catch {
      return; // already gone
    }
    // A wrangler whose build failed waits for file changes and may not leave on SIGTERM: the group goes by force.
    const force = setTimeout(() => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {}
    }, 5000);
    await exited;
    clearTimeout(force);
  };
  const stop = async () => {
    await kill();
    rmSync(persistDir, { recursive: true, force: true });
  };

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`wrangler dev exited:\n${output}`);
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`wrangler dev did not start in 90 s:\n${output}`);
    }
    try {
      if ((await fetch(`${url}/health`)).ok) break;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { url, persistDir, inspectorPort: inspector, ...d1, logs: () => output, workerdCpuSeconds: () => groupCpuSeconds(child.pid!, "workerd"), kill, stop };
}

/**
 * CPU seconds of the processes named `comm` in process group `pgid`: the on-CPU nanoseconds the scheduler counts
 * for each of their threads (/proc/<pid>/task/<tid>/schedstat), or utime + stime in 10 ms ticks where the
 * kernel keeps no schedstat. Ticks are too coarse for the fractions of a millisecond one request costs.
 */
function groupCpuSeconds(pgid: number, comm: string): number {
  let seconds = 0;
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // f[0] is field 3 (state)
      if (name === comm && Number(f[2]) === pgid) seconds += threadsCpuSeconds(pid) ?? (Number(f[11]) + Number(f[12])) / 100; // USER_HZ
    } catch {
      /* the process ended meanwhile */
    }
  }
  return seconds;
}

/** The on-CPU time of a process's live threads, from schedstat; undefined without it. */
function threadsCpuSeconds(pid: string): number | undefined {
  let ns = 0;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
  } catch {
    return undefined;
  }
  return ns / 1e9;
}

/** Percentile of sorted numbers (nearest rank). */
export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
