/**
 * Follows a run's Server-Sent Events (GET /runs/:id/stream). EventSource cannot send the bearer token, so the
 * stream is read with fetch. After a drop (network, or the Worker closing a long stream with a `retry:` hint
 * when its D1 query budget is spent) it reconnects with Last-Event-ID and receives only newer events.
 */
import { API, authHeaders, errorOf } from "./api";

export type RunEvent = { event: string; id: string | null; data: unknown };

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
  });

/** Calls `onEvent` for each event until the run ends (event id "end"), `signal` aborts, or the API refuses (thrown). */
export async function followRun(
  runId: string,
  onEvent: (e: RunEvent) => void,
  signal: AbortSignal,
  onConnection?: (live: boolean) => void,
  /** The last event already seen (a step number): only newer ones are sent. */
  from: string | null = null,
): Promise<void> {
  let lastId: string | null = from;
  let retryMs = 1000;
  let failures = 0;
  while (!signal.aborted && lastId !== "end") {
    try {
      const headers: Record<string, string> = { ...authHeaders(), accept: "text/event-stream" };
      if (lastId !== null) headers["last-event-id"] = lastId;
      const res = await fetch(`${API}/runs/${encodeURIComponent(runId)}/stream`, { headers, signal });
      if (!res.ok) throw Object.assign(await errorOf(res), { fatal: res.status < 500 });
      onConnection?.(true);
      failures = 0;
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      let ev: { event: string; id: string | null; data: string[] } = { event: "message", id: null, data: [] };
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        const lines = buffer.split(/\r\n|\r|\n/);
        buffer = lines.pop() ?? "";
        for (const line of lines) {
          if (line === "") {
            if (ev.data.length) {
              if (ev.id !== null) lastId = ev.id;
              onEvent({ event: ev.event, id: ev.id, data: JSON.parse(ev.data.join("\n")) });
            }
            ev = { event: "message", id: null, data: [] };
            continue;
          }
          const i = line.indexOf(":");
          if (i === 0) continue; // a comment (": ping")
          const field = i < 0 ? line : line.slice(0, i);
          const v = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
          if (field === "event") ev.event = v;
          else if (field === "data") ev.data.push(v);
          else if (field === "id") ev.id = v;
          else if (field === "retry" && /^\d+$/.test(v)) retryMs = Number(v);
        }
      }
    } catch (e) {
      if (signal.aborted) return;
      if ((e as { fatal?: boolean }).fatal) throw e;
      failures++;
    }
    onConnection?.(false);
    if (lastId !== "end") await sleep(Math.min(retryMs * 2 ** Math.min(failures, 3), 10_000), signal);
  }
}
