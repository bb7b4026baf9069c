/** /api/v1/usage: tokens and cost of the runs started in a period, per day, goal or model. */
import { createRoute } from "@hono/zod-openapi";
import { usageRows } from "../../db/usage";
import { errorResponses } from "../common";
import { invalidFields } from "../errors";
import { jsonContent, newRouter } from "../router";
import { Usage, UsageQuery } from "../schemas";
import { iso } from "../../lib/iso";

const DAY_MS = 86_400_000;

export const usage = newRouter().openapi(
  createRoute({
    method: "get",
    path: "/",
    tags: ["usage"],
    summary: "Runs, tokens and cost per day (UTC or tz), goal or model, with totals",
    request: { query: UsageQuery },
    responses: { 200: jsonContent(Usage, "Usage rows and totals"), ...errorResponses },
  }),
  async (c) => {
    const q = c.req.valid("query");
    const to = q.to ? Date.parse(q.to) : Date.now();
    const from = q.from ? Date.parse(q.from) : to - 30 * DAY_MS;
    if (from >= to) throw invalidFields([{ path: "from", message: "must be before to" }]);
    if (to - from > 366 * DAY_MS) throw invalidFields([{ path: "from", message: "at most 366 days before to" }]);
    const sums = await usageRows(c.var.db, { from, to, goalId: q.goalId, groupBy: q.groupBy, tz: q.tz ?? "UTC" });
    // What the spending is measured against (the dashboard's usage page); a malformed value is reported by runs, not here.
    const budget = c.env.MONTHLY_BUDGET_USD ? Number(c.env.MONTHLY_BUDGET_USD) : Number.NaN;
    const monthlyBudgetUsd = Number.isFinite(budget) && budget >= 0 ? budget : null;
    return c.json({ from: iso(from), to: iso(to), groupBy: q.groupBy, ...sums, monthlyBudgetUsd }, 200);
  },
);
