/**
 * Goals: status filter (the API's), a text filter over what is loaded, and a windowed list — only the rows on
 * screen are in the DOM, so 1,000 goals scroll and filter without long tasks. The first page (100) shows at
 * once; the rest load page by page behind it.
 */
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { GOAL_STATUSES } from "../../../worker/domain/vocabulary";
import { Badge, Failure, Loading, RunMarks } from "../components/ui";
import { get, query } from "../lib/api";
import { relative, scheduleWords, shortLocal, usd } from "../lib/format";
import { recentRuns, wantRecentRuns } from "../lib/recent-runs";
import { location, setQuery } from "../lib/router";
import type { Goal, Page, Usage } from "../lib/types";

const ROW = 76;
const OVERSCAN = 6;
const MAX_GOALS = 10_000;

function useAllGoals(status: string | undefined) {
  const [state, setState] = useState<{ items: Goal[]; done: boolean; error?: unknown }>({ items: [], done: false });
  useEffect(() => {
    const ctrl = new AbortController();
    setState({ items: [], done: false });
    (async () => {
      let cursor: string | null | undefined;
      let items: Goal[] = [];
      do {
        const page = await get<Page<Goal>>(`/goals${query({ status, limit: 100, cursor })}`, ctrl.signal);
        items = items.concat(page.items);
        cursor = page.nextCursor;
        if (!ctrl.signal.aborted) setState({ items, done: !cursor });
      } while (cursor && items.length < MAX_GOALS && !ctrl.signal.aborted);
    })().catch((error) => !ctrl.signal.aborted && setState((s) => ({ ...s, done: true, error })));
    return () => ctrl.abort();
  }, [status]);
  return state;
}

/** This month's spending per goal (GET /usage grouped by goal, since the 1st, UTC). */
function useMonthCost() {
  const [costs, setCosts] = useState<Map<string, number>>(new Map());
  useEffect(() => {
    const now = new Date();
    const from = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toISOString();
    get<Usage>(`/usage${query({ groupBy: "goal", from })}`)
      .then((u) => setCosts(new Map(u.items.map((i) => [i.key, i.costUsd]))))
      .catch(() => {});
  }, []);
  return costs;
}

function GoalRow({ goal, cost }: { goal: Goal; cost: number | undefined }) {
  const next = goal.nextFireTimes[0];
  return (
    <li class="goal-row" style={{ height: `${ROW}px` }}>
      <div class="goal-main">
        <a class="goal-title" href={`/goals/${goal.id}`}>
          {goal.objective}
        </a>
        <span class="small muted">{scheduleWords(goal.schedule)}</span>
      </div>
      <div class="goal-meta">
        <Badge status={goal.status} />
        <span class="small" title={next ? `${next.local} in the goal's zone` : undefined}>
          {next && goal.status === "active" ? `next ${shortLocal(next.utc)} (${relative(next.utc)})` : "—"}
        </span>
        <RunMarks runs={recentRuns.value.get(goal.id) ?? []} />
        <span class="small muted" title="spent this month">
          {cost === undefined ? "" : usd(cost)}
        </span>
      </div>
    </li>
  );
}

export function Goals() {
  const params = location.value.searchParams;
  const status = params.get("status") ?? undefined;
  const [text, setText] = useState(params.get("q") ?? "");
  const { items, done, error } = useAllGoals(status);
  const costs = useMonthCost();
  const needle = text.trim().toLowerCase();
  const shown = useMemo(() => (needle ? items.filter((g) => g.objective.toLowerCase().includes(needle) || g.id.includes(needle)) : items), [items, needle]);

  const listRef = useRef<HTMLUListElement>(null);
  const [range, setRange] = useState<[number, number]>([0, 30]);
  useEffect(() => {
    let frame = 0;
    const measure = () => {
      frame = 0;
      const top = listRef.current?.getBoundingClientRect().top ?? 0;
      const first = Math.max(0, Math.floor(-top / ROW) - OVERSCAN);
      const last = Math.min(shown.length, Math.ceil((window.innerHeight - top) / ROW) + OVERSCAN);
      setRange((r) => (r[0] === first && r[1] === last ? r : [first, last]));
    };
    const onScroll = () => (frame ||= requestAnimationFrame(measure));
    measure();
    window.addEventListener("scroll", onScroll, { passive: true });
    window.addEventListener("resize", onScroll);
    return () => {
      window.removeEventListener("scroll", onScroll);
      window.removeEventListener("resize", onScroll);
      cancelAnimationFrame(frame);
    };
  }, [shown.length]);
  const [first, last] = range;
  const visible = shown.slice(first, last);
  useEffect(() => {
    const t = setTimeout(() => wantRecentRuns(visible.map((g) => g.id)), 150);
    return () => clearTimeout(t);
  }, [visible.map((g) => g.id).join()]);

  return (
    <section>
      <div class="page-head">
        <h1>Goals</h1>
        <a class="button" href="/goals/new">
          New goal
        </a>
      </div>
      <search class="filters">
        <label>
          Status{" "}
          <select value={status ?? ""} onChange={(e) => setQuery({ status: e.currentTarget.value || undefined })}>
            <option value="">all</option>
            {GOAL_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Filter <input type="search" value={text} placeholder="objective or id" onInput={(e) => setText(e.currentTarget.value)} />
        </label>
        <span class="muted small" aria-live="polite">
          {shown.length.toLocaleString()} goal{shown.length === 1 ? "" : "s"}
          {done ? "" : " (loading more…)"}
        </span>
      </search>
      {error !== undefined && <Failure error={error} />}
      {!done && !items.length && !error && <Loading what="Loading goals" />}
      {done && !items.length && !error && (
        <p>
          No goals yet. <a href="/goals/new">Create one</a>, or use the CLI: <code>async-agent goal create</code>.
        </p>
      )}
      <ul class="goal-list" ref={listRef} style={{ height: `${shown.length * ROW}px` }} data-testid="goal-list">
        <li aria-hidden="true" style={{ height: `${first * ROW}px` }} class="spacer" />
        {visible.map((g) => (
          <GoalRow key={g.id} goal={g} cost={costs.get(g.id)} />
        ))}
      </ul>
    </section>
  );
}
