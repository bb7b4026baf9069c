/** `async-agent usage`: runs, tokens and cost per day, goal or model, with a bar per row on a terminal. */
import { type Command, InvalidArgumentError, Option } from "commander";
import type { Usage } from "../../../worker/api/schemas";
import { USAGE_GROUPS } from "../../../worker/domain/vocabulary";
import { contextFor, examples } from "../context";
import { bar, money } from "../views";

const UNIT_MS: Record<string, number> = { h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/** "30d", "12h", "2w" (before now), or an ISO date or date-time, as the API's `from`. */
export function sinceToFrom(v: string, now = Date.now()): string {
  const m = v.match(/^(\d+)([hdw])$/);
  if (m) return new Date(now - Number(m[1]) * UNIT_MS[m[2]]).toISOString();
  if (/^\d{4}-\d{2}-\d{2}/.test(v) && !Number.isNaN(Date.parse(v))) return v;
  throw new InvalidArgumentError("expected a duration such as 30d, 12h or 2w, or a date such as 2026-12-01");
}

export function registerUsage(program: Command): void {
  examples(program.command("usage").description("tokens and cost of runs per day, goal or model"), [
    "async-agent usage",
    "async-agent usage --goal goal_01J… --since 7d",
    "async-agent usage --by model --json",
  ])
    .option("--goal <id>", "only runs of this goal")
    .option("--since <when>", "from this long ago (30d, 12h, 2w) or this date", (v: string) => sinceToFrom(v))
    .addOption(new Option("--by <group>", "one row per").choices(USAGE_GROUPS).default("day"))
    .option("--tz <zone>", "days in this IANA time zone (default UTC)")
    .action(async (f: { goal?: string; since?: string; by: string; tz?: string }, cmd: Command) => {
      const { p, client } = await contextFor(cmd);
      const u = await client.usage({ goalId: f.goal, from: f.since ?? sinceToFrom("30d"), groupBy: f.by, tz: f.tz });
      p.result(u, (shown: Usage) => {
        // Bars by cost; by tokens when nothing has a price (all local models, say).
        const size = (r: Usage["totals"]) => (shown.totals.costUsd ? r.costUsd : r.promptTokens + r.completionTokens);
        const top = Math.max(...shown.items.map(size), 0);
        const rows = shown.items.map((r) => [
          r.key,
          String(r.runs),
          String(r.promptTokens),
          String(r.completionTokens),
          `${money(r.costUsd)}${r.unpricedRuns ? p.c.yellow(` +${r.unpricedRuns} unpriced`) : ""}`,
          ...(p.tty ? [p.c.cyan(bar(top ? size(r) / top : 0, 20))] : []),
        ]);
        const t = shown.totals;
        if (!rows.length) p.note(`no runs started since ${shown.from}`);
        p.table(
          [f.by.toUpperCase(), "RUNS", "PROMPT", "COMPLETION", "COST", ...(p.tty ? [""] : [])],
          [
            ...rows,
            [p.c.bold("total"), String(t.runs), String(t.promptTokens), String(t.completionTokens), p.c.bold(money(t.costUsd)), ...(p.tty ? [""] : [])],
          ],
        );
        if (t.unpricedRuns) p.note(`${t.unpricedRuns} run(s) used a model without a known price: not in the cost (set MODEL_PRICES on the server)`);
      });
    });
}
