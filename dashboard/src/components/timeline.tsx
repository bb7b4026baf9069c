/**
 * A run's steps on a time axis. Steps record when they were written (createdAt, at the end of their turn) and how
 * long their tool call took (durationMs); the steps of one turn share createdAt. So each turn is drawn as the
 * model's part (from the previous turn's end to its first tool start: the model call and the loop's own work) and
 * one tool bar per call, the calls of one turn overlapping in time, side by side. Errors are marked.
 */
import { duration } from "../lib/format";
import type { Step } from "../lib/types";

type Bar = { step: Step; modelFrom: number | null; toolFrom: number; end: number };

export function layout(steps: Step[], runStart: number | null): { bars: Bar[]; t0: number; t1: number } {
  const bars: Bar[] = [];
  let prevEnd = runStart;
  let turnEnd = Number.NaN;
  let turnToolFrom = 0;
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i];
    const end = Date.parse(s.createdAt);
    const newTurn = end !== turnEnd;
    if (newTurn) {
      // The turn's tools started when its longest call did.
      let longest = s.durationMs;
      for (let j = i + 1; j < steps.length && Date.parse(steps[j].createdAt) === end; j++) longest = Math.max(longest, steps[j].durationMs);
      turnToolFrom = end - longest;
      if (!Number.isNaN(turnEnd)) prevEnd = turnEnd;
      turnEnd = end;
    }
    const modelFrom = newTurn && prevEnd !== null && prevEnd < turnToolFrom ? prevEnd : null;
    bars.push({ step: s, modelFrom, toolFrom: end - s.durationMs, end });
  }
  const starts = bars.map((b) => b.modelFrom ?? b.toolFrom);
  const t0 = Math.min(runStart ?? Number.POSITIVE_INFINITY, ...starts);
  const t1 = Math.max(t0 + 1, ...bars.map((b) => b.end));
  return { bars, t0, t1 };
}

export function Timeline({ steps, runStart, runEnd }: { steps: Step[]; runStart: string | null; runEnd: string | null }) {
  if (!steps.length) return <p class="muted">No steps yet.</p>;
  const { bars, t0, t1: last } = layout(steps, runStart ? Date.parse(runStart) : null);
  const t1 = Math.max(last, runEnd ? Date.parse(runEnd) : last);
  const pct = (t: number) => `${(((t - t0) / (t1 - t0)) * 100).toFixed(3)}%`;
  const width = (a: number, b: number) => `${Math.max(0.3, ((b - a) / (t1 - t0)) * 100).toFixed(3)}%`;
  return (
    <figure class="timeline" aria-label="Timeline of the run's steps">
      <div class="axis" aria-hidden="true">
        {[0, 0.25, 0.5, 0.75, 1].map((f) => (
          <span key={f} style={{ left: `${f * 100}%` }}>
            {duration((t1 - t0) * f)}
          </span>
        ))}
      </div>
      <ol class="lanes">
        {bars.map(({ step: s, modelFrom, toolFrom, end }) => (
          <li key={s.stepNo} class={s.error ? "lane failed" : "lane"}>
            <a href={`#step-${s.stepNo}`} class="lane-label">
              {s.stepNo} {s.toolName ?? "answer"}
            </a>
            <span class="track">
              {modelFrom !== null && (
                <span class="bar model" style={{ left: pct(modelFrom), width: width(modelFrom, toolFrom) }} title={`model ${duration(toolFrom - modelFrom)}`} />
              )}
              <span
                class={s.error ? "bar tool error" : "bar tool"}
                style={{ left: pct(toolFrom), width: width(toolFrom, end) }}
                title={`${s.toolName ?? "answer"} ${duration(s.durationMs)}${s.error ? ` — ${s.error}` : ""}`}
              />
            </span>
          </li>
        ))}
      </ol>
      <figcaption class="small muted">
        <span class="key model" /> model (and the loop's own work) <span class="key tool" /> tool call <span class="key error" /> failed
      </figcaption>
    </figure>
  );
}
