/** Small shared pieces: status badges, loading and error lines, folded long text, fire times, a data hook. */
import type { ComponentChildren } from "preact";
import { useCallback, useEffect, useState } from "preact/hooks";
import { messageOf } from "../lib/api";
import { relative } from "../lib/format";

export function Badge({ status }: { status: string }) {
  return <span class={`badge s-${status}`}>{status}</span>;
}

export function Failure({ error }: { error: unknown }) {
  return (
    <p class="error" role="alert">
      {messageOf(error)}
    </p>
  );
}

export const Loading = ({ what = "Loading" }: { what?: string }) => (
  <p class="muted" aria-live="polite">
    {what}…
  </p>
);

/** Long text (observations, thoughts) in windows of `size` characters: more on request, as read_more gives the model. */
export function Folded({ text, size = 6000, label }: { text: string; size?: number; label: string }) {
  const [shown, setShown] = useState(size);
  const rest = text.length - shown;
  return (
    <div class="folded">
      <pre title={label}>{rest > 0 ? `${text.slice(0, shown)}…` : text}</pre>
      {rest > 0 && (
        <button type="button" class="link" onClick={() => setShown(shown + size)}>
          Show {Math.min(rest, size).toLocaleString()} more characters ({rest.toLocaleString()} left)
        </button>
      )}
    </div>
  );
}

/** Loads data for a page; `reload` fetches again. Stale answers (after deps changed) are dropped. */
export function useData<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]): { data?: T; error?: unknown; reload: () => void; set: (t: T) => void } {
  const [state, setState] = useState<{ data?: T; error?: unknown }>({});
  const [n, setN] = useState(0);
  useEffect(() => {
    const ctrl = new AbortController();
    load(ctrl.signal).then(
      (data) => !ctrl.signal.aborted && setState({ data }),
      (error) => !ctrl.signal.aborted && setState((s) => ({ data: s.data, error })),
    );
    return () => ctrl.abort();
  }, [...deps, n]);
  const reload = useCallback(() => setN((x) => x + 1), []);
  const set = useCallback((data: T) => setState({ data }), []);
  return { ...state, reload, set };
}

export function Field({ label, hint, children, id }: { label: string; hint?: ComponentChildren; children: ComponentChildren; id: string }) {
  return (
    <div class="field">
      <label for={id}>{label}</label>
      {children}
      {hint && (
        <small class="muted" id={`${id}-hint`}>
          {hint}
        </small>
      )}
    </div>
  );
}

/** A row of coloured marks, one per run (newest last), each a link with its status for screen readers. */
export function RunMarks({ runs }: { runs: { id: string; status: string; createdAt: string }[] }) {
  if (!runs.length) return <span class="muted small">no runs yet</span>;
  return (
    <span class="marks">
      {[...runs].reverse().map((r) => (
        <a key={r.id} href={`/runs/${r.id}`} class={`mark s-${r.status}`} title={`${r.status} · ${new Date(r.createdAt).toLocaleString()}`}>
          <span class="sr-only">{r.status}</span>
        </a>
      ))}
    </span>
  );
}

/** A <details> whose content is built only once opened: a run of 200 steps keeps its page light until asked. */
export function LazyDetails({ summary, open = false, children }: { summary: ComponentChildren; open?: boolean; children: () => ComponentChildren }) {
  const [shown, setShown] = useState(open);
  return (
    <details open={open} onToggle={(e) => e.currentTarget.open && setShown(true)}>
      <summary>{summary}</summary>
      {shown && children()}
    </details>
  );
}

/** A goal's next fire times: local time in the goal's zone, and how far off. */
export function FireTimes({ times }: { times: { utc: string; local: string }[] }) {
  return (
    <ol class="fire-times">
      {times.map((f) => (
        <li key={f.utc}>
          {f.local} <span class="muted">({relative(f.utc)})</span>
        </li>
      ))}
    </ol>
  );
}
