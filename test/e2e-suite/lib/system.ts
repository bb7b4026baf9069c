/**
 * The system under test, as a user runs it: `wrangler dev` on 127.0.0.1 with local persistence (D1, Durable
 * Objects, Queues, R2, alarms), every provider pointed at the fakes. `restart` takes the whole process group
 * down (SIGKILL by default, as a crash would) and starts it again on the same `--persist-to` state.
 */
import { inject } from "vitest";
import { type DevServer, startDevServer } from "../../../bench/lib/dev-server.ts";
import { TEST_API_TOKEN, testBindings } from "../../bindings.ts";
import type { FakeScript } from "../../fakes/llm.ts";

export const fakeUrl = (name: string) => `http://127.0.0.1:${inject("fakePorts")[name]}`;

/** Settings the suite adds to the tests' bindings: emails go to the fake Resend, so each send is observable. */
export function suiteVars(extra: Record<string, string> = {}): Record<string, string> {
  return { ...testBindings(inject("fakePorts")), EMAIL_PROVIDER: "resend", ...extra };
}

/** Paths given whole; any other path is under /api/v1. */
const OUTSIDE_API = /^\/(api\/|health|hooks\/|cdn-cgi\/|docs)/;

export type Res<T = any> = { status: number; body: T; headers: Headers; ms: number };

export type System = {
  url: () => string;
  dev: () => DevServer;
  api: <T = any>(path: string, init?: { method?: string; body?: unknown; token?: string | null; headers?: Record<string, string> }) => Promise<Res<T>>;
  /** Kills the process group with `signal` and starts wrangler dev again on the same state; resolves once /health answers. */
  restart: (signal?: "SIGTERM" | "SIGKILL") => Promise<{ downMs: number; startMs: number }>;
  /** Stops wrangler dev and removes its state. Safe to call twice. */
  stop: () => Promise<void>;
};

/** A client of the API at `base()`: the token by default (`token: null` sends none), JSON in and out, the time taken. */
export function apiClient(base: () => string): System["api"] {
  return async (path, init = {}) => {
    const token = init.token === undefined ? TEST_API_TOKEN : init.token;
    const headers: Record<string, string> = { ...(token !== null ? { authorization: `Bearer ${token}` } : {}), ...init.headers };
    if (init.body !== undefined) headers["content-type"] ??= "application/json";
    const t0 = performance.now();
    const res = await fetch(`${base()}${OUTSIDE_API.test(path) ? path : `/api/v1${path}`}`, {
      method: init.method ?? (init.body === undefined ? "GET" : "POST"),
      headers,
      body: init.body === undefined ? undefined : typeof init.body === "string" ? init.body : JSON.stringify(init.body),
      signal: AbortSignal.timeout(60_000),
    });
    const text = await res.text();
    const ms = performance.now() - t0;
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      /* not JSON: keep the text */
    }
    return { status: res.status, body: body as any, headers: res.headers, ms };
  };
}

/** `logLevel: "log"` keeps the Worker's console lines in `dev().logs()` (the queue consumer logs each hand-over). */
export async function startSystem(vars: Record<string, string> = suiteVars(), opts: { logLevel?: string } = {}): Promise<System> {
  let dev = await startDevServer(vars, { logLevel: opts.logLevel });
  const persistDir = dev.persistDir;
  let stopped = false;
  const api = apiClient(() => dev.url);
  return {
    url: () => dev.url,
    dev: () => dev,
    api,
    restart: async (signal = "SIGKILL") => {
      const t0 = Date.now();
      await dev.kill(signal);
      const t1 = Date.now();
      dev = await startDevServer(vars, { persistDir, logLevel: opts.logLevel });
      return { downMs: t1 - t0, startMs: Date.now() - t1 };
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await dev.stop();
    },
  };
}

let seq = 0;
/** Registers a script with the fake LLM; the returned marker, put in a goal's objective, selects it. */
export async function scriptLlm(name: string, script: FakeScript): Promise<{ key: string; marker: string }> {
  const key = `${name}-${process.pid}-${Date.now().toString(36)}-${++seq}`;
  const res = await fetch(`${fakeUrl("llm")}/__scripts`, { method: "POST", body: JSON.stringify({ key, script }) });
  if (!res.ok) throw new Error(`the fake LLM refused the script: ${res.status}`);
  return { key, marker: `[script:${key}]` };
}

/** Polls `probe` until it returns a value other than undefined: at most `tries` times and until `ms` have passed. */
export async function poll<T>(probe: () => Promise<T | undefined>, opts: { ms: number; every?: number; what: string }): Promise<T> {
  const every = opts.every ?? 250;
  const deadline = Date.now() + opts.ms;
  for (let i = 0, tries = Math.ceil(opts.ms / every) + 1; i < tries && Date.now() <= deadline; i++) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, every));
  }
  throw new Error(`timed out after ${opts.ms} ms waiting for ${opts.what}`);
}

export const ENDED = ["completed", "failed", "cancelled", "skipped"];
