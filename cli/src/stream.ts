/**
 * Reads a run's SSE stream (`GET /runs/:id/stream`): `run.started`, one `step` per finished step,
 * `plan` when the plan changes, `run.waiting` / `run.resumed` around a person's decision, then
 * `run.completed | run.failed | run.cancelled`. A dropped connection is resumed with Last-Event-ID so
 * no step is shown twice or lost; `plan` and `run.waiting` carry no id and come again after a reconnect.
 */
import { createParser } from "eventsource-parser";
import type { Run, Step } from "../../worker/api/schemas";
import {
  PLAN_EVENT,
  RUN_END_EVENTS,
  RUN_RESUMED_EVENT,
  RUN_STARTED_EVENT,
  RUN_WAITING_EVENT,
  type RunEndEvent,
  STEP_EVENT,
} from "../../worker/domain/vocabulary";
import { API_PREFIX, type ApiClient } from "./api-client";
import { NetworkError } from "./errors";

export type Plan = NonNullable<Run["plan"]>;
export type RunEvent =
  | { type: typeof RUN_STARTED_EVENT; run: Run }
  | { type: typeof STEP_EVENT; step: Step }
  | { type: typeof PLAN_EVENT; plan: Plan }
  | { type: typeof RUN_WAITING_EVENT | typeof RUN_RESUMED_EVENT; run: Run }
  | { type: RunEndEvent; run: Run };

const TERMINAL = new Set<string>(RUN_END_EVENTS);
const MAX_RECONNECTS = 5;
/**
 * The server pings every 15 s, so a stream silent for longer is a dead connection that never closed
 * (a sleeping laptop, a proxy): drop it and resume. ASYNC_AGENT_STREAM_IDLE_SECONDS overrides it.
 */
const idleMs = () => Number(process.env.ASYNC_AGENT_STREAM_IDLE_SECONDS || 45) * 1000;

/** Yields the run's events until the terminal one. `after` skips steps already shown (Last-Event-ID). */
export async function* runEvents(client: ApiClient, runId: string, opts: { signal: AbortSignal; after?: number }): AsyncGenerator<RunEvent> {
  let lastId: string | undefined = opts.after === undefined ? undefined : String(opts.after);
  let failures = 0;
  while (true) {
    const headers: Record<string, string> = { accept: "text/event-stream" };
    if (lastId !== undefined) headers["last-event-id"] = lastId;
    let ended = false;
    const conn = new AbortController();
    const stop = () => conn.abort(opts.signal.reason);
    opts.signal.addEventListener("abort", stop, { once: true });
    let idle: NodeJS.Timeout | undefined;
    const alive = () => {
      clearTimeout(idle);
      idle = setTimeout(() => conn.abort(new NetworkError(`the stream of run ${runId} went silent`)), idleMs());
    };
    try {
      alive();
      // No overall timeout: a run may think for minutes between steps; only silence ends a connection.
      const res = await client.fetch("GET", `${API_PREFIX}/runs/${encodeURIComponent(runId)}/stream`, { headers, signal: conn.signal, timeoutMs: null });
      if (!res.body) throw new NetworkError(`the stream of run ${runId} has no body`);
      const queue: RunEvent[] = [];
      const parser = createParser({
        onEvent: (msg) => {
          if (msg.id !== undefined) lastId = msg.id;
          const data: unknown = JSON.parse(msg.data);
          if (msg.event === STEP_EVENT) queue.push({ type: STEP_EVENT, step: data as Step });
          else if (msg.event === RUN_STARTED_EVENT) queue.push({ type: RUN_STARTED_EVENT, run: data as Run });
          else if (msg.event === PLAN_EVENT) queue.push({ type: PLAN_EVENT, plan: data as Plan });
          else if (msg.event === RUN_WAITING_EVENT || msg.event === RUN_RESUMED_EVENT) queue.push({ type: msg.event, run: data as Run });
          else if (msg.event && TERMINAL.has(msg.event)) queue.push({ type: msg.event as RunEndEvent, run: data as Run });
        },
      });
      const decoder = new TextDecoder();
      for await (const chunk of res.body) {
        alive();
        parser.feed(decoder.decode(chunk, { stream: true }));
        failures = 0;
        while (queue.length) {
          const ev = queue.shift() as RunEvent;
          yield ev;
          if (TERMINAL.has(ev.type)) ended = true;
        }
        if (ended) return;
      }
    } catch (e) {
      if (opts.signal.aborted) return;
      // Only a dropped connection is retried; an API answer (404, 401) is final.
      if (!(e instanceof NetworkError) && !(e instanceof TypeError)) throw e;
      if (++failures > MAX_RECONNECTS) throw e instanceof NetworkError ? e : new NetworkError(`lost the stream of run ${runId}: ${e.message}`);
    } finally {
      clearTimeout(idle);
      opts.signal.removeEventListener("abort", stop);
      // Closes a connection we stopped reading (idle, or the consumer left after the terminal event).
      conn.abort();
    }
    if (ended) return;
    if (lastId === "end") return;
    await sleep(Math.min(500 * 2 ** failures, 8000), opts.signal);
    if (opts.signal.aborted) return;
  }
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
  });
