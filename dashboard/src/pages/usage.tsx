/** Usage: spend and tokens per day as a small SVG chart, and the same period by goal and by model (GET /usage). */
import { useState } from "preact/hooks";
import { Budgets } from "../components/budgets";
import { Failure, Loading, useData } from "../components/ui";
import { get, query } from "../lib/api";
import { count, usd } from "../lib/format";
import { goalNames, wantGoalNames } from "../lib/goal-names";
import type { Usage } from "../lib/types";

const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

type Day = Usage["items"][number];
const dayKey = new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" });

/** Every day of the period in this zone, the days without runs as zeros (the API lists only days that had runs). */
function allDays(usage: Usage): Day[] {
  const byKey = new Map(usage.items.map((i) => [i.key, i]));
  const keys: string[] = [];
  for (let t = Date.parse(usage.from); t < Date.parse(usage.to) + 86_400_000; t += 3_600_000) {
    const k = dayKey.format(new Date(Math.min(t, Date.parse(usage.to))));
    if (keys.at(-1) !== k) keys.push(k);
  }
  return keys.map((key) => byKey.get(key) ?? { key, runs: 0, promptTokens: 0, completionTokens: 0, costUsd: 0, unpricedRuns: 0 });
}

function DayChart({ usage, metric }: { usage: Usage; metric: "costUsd" | "tokens" }) {
  const value = (i: Day) => (metric === "costUsd" ? i.costUsd : i.promptTokens + i.completionTokens);
  if (!usage.items.length) return <p class="muted">No runs in this period.</p>;
  const items = allDays(usage);
  const max = Math.max(...items.map(value), metric === "costUsd" ? 0.01 : 1);
  const W = 600;
  const H = 160;
  const bw = W / items.length;
  const label = (v: number) => (metric === "costUsd" ? usd(v) : count(v));
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${W} ${H + 20}`} role="img" aria-label={`${metric === "costUsd" ? "Spend" : "Tokens"} per day, highest ${label(max)}`}>
        {items.map((it, i) => {
          const h = (value(it) / max) * H;
          return (
            <rect key={it.key} x={i * bw + 1} y={H - h} width={Math.max(1, bw - 2)} height={h} class="bar-fill">
              <title>{`${it.key}: ${label(value(it))}, ${it.runs} runs`}</title>
            </rect>
          );
        })}
        <line x1="0" y1={H} x2={W} y2={H} class="axis-line" />
        <text x="0" y={H + 15} class="tick">
          {items[0].key}
        </text>
        <text x={W} y={H + 15} text-anchor="end" class="tick">
          {items.at(-1)!.key}
        </text>
      </svg>
      <figcaption class="small muted">highest day: {label(max)}</figcaption>
    </figure>
  );
}

function Table({ usage, what }: { usage: Usage; what: string }) {
  if (what === "Goal") wantGoalNames(usage.items.map((i) => i.key));
  return (
    <div class="table-wrap">
      <table>
        <thead>
          <tr>
            <th scope="col">{what}</th>
            <th scope="col">Runs</th>
            <th scope="col">Tokens</th>
            <th scope="col">Cost</th>
          </tr>
        </thead>
        <tbody>
          {usage.items.map((i) => (
            <tr key={i.key}>
              <td>
                {what === "Goal" ? (
                  <a href={`/goals/${i.key}`} class="clip">
                    {goalNames.value.get(i.key) ?? i.key}
                  </a>
                ) : (
                  i.key
                )}
              </td>
              <td>{i.runs}</td>
              <td>{count(i.promptTokens + i.completionTokens)}</td>
              <td>
                {usd(i.costUsd)}
                {i.unpricedRuns ? ` (+${i.unpricedRuns} unpriced)` : ""}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function UsagePage() {
  const [days, setDays] = useState(30);
  const [metric, setMetric] = useState<"costUsd" | "tokens">("costUsd");
  const from = new Date(Date.now() - days * 86_400_000).toISOString();
  const load = (groupBy: string) => (signal: AbortSignal) => get<Usage>(`/usage${query({ groupBy, from, tz: zone })}`, signal);
  const byDay = useData(load("day"), [days]);
  const byGoal = useData(load("goal"), [days]);
  const byModel = useData(load("model"), [days]);
  const err = byDay.error ?? byGoal.error ?? byModel.error;
  return (
    <section>
      <h1>Usage</h1>
      <div class="filters">
        <label>
          Period{" "}
          <select value={days} onChange={(e) => setDays(Number(e.currentTarget.value))}>
            {[7, 30, 90, 365].map((d) => (
              <option key={d} value={d}>
                last {d} days
              </option>
            ))}
          </select>
        </label>
        <label>
          Show{" "}
          <select value={metric} onChange={(e) => setMetric(e.currentTarget.value as "costUsd" | "tokens")}>
            <option value="costUsd">spend</option>
            <option value="tokens">tokens</option>
          </select>
        </label>
      </div>
      {err !== undefined && <Failure error={err} />}
      {byDay.data ? (
        <>
          <p>
            <strong>{usd(byDay.data.totals.costUsd)}</strong> · {count(byDay.data.totals.promptTokens + byDay.data.totals.completionTokens)} tokens ·{" "}
            {byDay.data.totals.runs} runs{byDay.data.totals.unpricedRuns ? ` (${byDay.data.totals.unpricedRuns} without a known price)` : ""}
          </p>
          <DayChart usage={byDay.data} metric={metric} />
        </>
      ) : (
        <Loading />
      )}
      <h2>By goal</h2>
      {byGoal.data && <Table usage={byGoal.data} what="Goal" />}
      <h2>By model</h2>
      {byModel.data && <Table usage={byModel.data} what="Model" />}
      <h2>This month against the budgets</h2>
      <Budgets />
    </section>
  );
}
