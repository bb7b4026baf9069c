/** Runs of one goal or all goals, newest first, filtered by status and trigger, a page at a time. */
import { useEffect, useState } from "preact/hooks";
import { RUN_STATUSES, TRIGGERS } from "../../../worker/domain/vocabulary";
import { get, query } from "../lib/api";
import { count, duration, local, runDuration, usd } from "../lib/format";
import { goalNames, wantGoalNames } from "../lib/goal-names";
import type { Page, Run } from "../lib/types";
import { Badge, Failure, Loading } from "./ui";

export function RunsTable({ goalId, refresh = 0 }: { goalId?: string; refresh?: number }) {
  const [status, setStatus] = useState("");
  const [trigger, setTrigger] = useState("");
  const [pages, setPages] = useState<{ items: Run[]; next: string | null; error?: unknown; loading: boolean }>({ items: [], next: null, loading: true });
  const load = async (cursor?: string) => {
    setPages((p) => ({ ...p, loading: true }));
    try {
      const page = await get<Page<Run>>(`/runs${query({ goalId, status, trigger, cursor, limit: 25 })}`);
      setPages((p) => ({ items: cursor ? [...p.items, ...page.items] : page.items, next: page.nextCursor, loading: false }));
      if (!goalId) wantGoalNames(page.items.map((r) => r.goalId));
    } catch (error) {
      setPages((p) => ({ ...p, error, loading: false }));
    }
  };
  useEffect(() => void load(), [goalId, status, trigger, refresh]);
  return (
    <div>
      <div class="filters">
        <label>
          Status{" "}
          <select value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
            <option value="">all</option>
            {RUN_STATUSES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          Trigger{" "}
          <select value={trigger} onChange={(e) => setTrigger(e.currentTarget.value)}>
            <option value="">all</option>
            {TRIGGERS.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
      </div>
      {pages.error !== undefined && <Failure error={pages.error} />}
      <div class="table-wrap">
        <table class="runs">
          <thead>
            <tr>
              <th scope="col">Run</th>
              {!goalId && <th scope="col">Goal</th>}
              <th scope="col">Status</th>
              <th scope="col">Trigger</th>
              <th scope="col">Started</th>
              <th scope="col">Duration</th>
              <th scope="col">Steps</th>
              <th scope="col">Tokens</th>
              <th scope="col">Cost</th>
            </tr>
          </thead>
          <tbody>
            {pages.items.map((r) => (
              <tr key={r.id}>
                <td>
                  <a href={`/runs/${r.id}`}>{r.id.slice(-8)}</a>
                </td>
                {!goalId && (
                  <td>
                    <a href={`/goals/${r.goalId}`} class="clip">
                      {goalNames.value.get(r.goalId) ?? r.goalId.slice(-8)}
                    </a>
                  </td>
                )}
                <td>
                  <Badge status={r.status} />
                </td>
                <td>{r.trigger}</td>
                <td>{local(r.startedAt ?? r.createdAt)}</td>
                <td>{duration(runDuration(r))}</td>
                <td>
                  {r.stepsExecuted}/{r.stepBudget}
                </td>
                <td>{count(r.tokens.total)}</td>
                <td>{usd(r.costUsd)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {pages.loading && <Loading what="Loading runs" />}
      {!pages.loading && !pages.items.length && <p class="muted">No runs{status || trigger ? " match these filters" : " yet"}.</p>}
      {pages.next && !pages.loading && (
        <button type="button" class="secondary" onClick={() => load(pages.next!)}>
          More runs
        </button>
      )}
    </div>
  );
}
