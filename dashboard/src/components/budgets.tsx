/**
 * This month's spending against the budgets: the instance's (MONTHLY_BUDGET_USD, UTC month, from GET /usage) and
 * each goal's that has one (params.monthlyBudgetUsd / monthlyTokenBudget; GET /goals/:id tells its month's
 * spending in the goal's own zone, exactly what the budget is checked against).
 */
import { get, query } from "../lib/api";
import { count, usd } from "../lib/format";
import type { Goal, Page, Usage } from "../lib/types";
import { Failure, Loading, useData } from "./ui";

/** Goals with a budget shown at most: each costs one request. */
const MAX_GOALS = 50;

async function budgets(signal: AbortSignal) {
  const now = new Date();
  const from = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toISOString();
  const instance = await get<Usage>(`/usage${query({ groupBy: "model", from })}`, signal);
  const withBudget: Goal[] = [];
  let cursor: string | null | undefined;
  do {
    const page = await get<Page<Goal>>(`/goals${query({ limit: 100, cursor })}`, signal);
    withBudget.push(...page.items.filter((g) => g.params.monthlyBudgetUsd !== undefined || g.params.monthlyTokenBudget !== undefined));
    cursor = page.nextCursor;
  } while (cursor && withBudget.length < MAX_GOALS);
  const goals = await Promise.all(withBudget.slice(0, MAX_GOALS).map((g) => get<Goal>(`/goals/${g.id}`, signal)));
  return { instance, goals };
}

function Bar({ value, max, label }: { value: number; max: number; label: string }) {
  return (
    <meter min={0} max={max} value={Math.min(value, max)} low={max * 0.75} high={max * 0.9} optimum={0} aria-label={label} title={label}>
      {label}
    </meter>
  );
}

export function Budgets() {
  const data = useData(budgets, []);
  if (data.error) return <Failure error={data.error} />;
  if (!data.data) return <Loading what="Loading budgets" />;
  const { instance, goals } = data.data;
  const spent = instance.totals.costUsd;
  return (
    <>
      <p>
        Whole instance, since the 1st (UTC): <strong>{usd(spent)}</strong>
        {instance.monthlyBudgetUsd === null ? (
          <span class="muted"> (no MONTHLY_BUDGET_USD)</span>
        ) : (
          <>
            {" "}
            of {usd(instance.monthlyBudgetUsd)}{" "}
            <Bar value={spent} max={instance.monthlyBudgetUsd} label={`${usd(spent)} of ${usd(instance.monthlyBudgetUsd)}`} />
          </>
        )}
      </p>
      {goals.length === 0 ? (
        <p class="muted small">No goal has a monthly budget (set one on its edit page).</p>
      ) : (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Goal</th>
                <th scope="col">Spent this month</th>
                <th scope="col">Budget</th>
              </tr>
            </thead>
            <tbody>
              {goals.map((g) => {
                const u = g.usage;
                const usdBudget = g.params.monthlyBudgetUsd;
                const tokenBudget = g.params.monthlyTokenBudget;
                return (
                  <tr key={g.id}>
                    <td>
                      <a href={`/goals/${g.id}`} class="clip">
                        {g.objective}
                      </a>
                    </td>
                    <td>{u ? `${usd(u.costUsd)} · ${count(u.tokens)} tokens` : "—"}</td>
                    <td>
                      {usdBudget !== undefined && u && <Bar value={u.costUsd} max={usdBudget} label={`${usd(u.costUsd)} of ${usd(usdBudget)}`} />}
                      {usdBudget !== undefined && ` ${usd(usdBudget)}`}
                      {tokenBudget !== undefined && u && (
                        <Bar value={u.tokens} max={tokenBudget} label={`${count(u.tokens)} of ${count(tokenBudget)} tokens`} />
                      )}
                      {tokenBudget !== undefined && ` ${count(tokenBudget)} tokens`}
                      {g.readiness && !g.readiness.ready && <p class="error small">{g.readiness.reason}</p>}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
