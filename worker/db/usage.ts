/**
 * GET /usage: runs' tokens and cost summed by day, goal or model over [from, to) of their start time.
 * Days in a time zone: SQLite knows no IANA zones, so runs are summed per 15 minutes (every zone's
 * offset is a multiple of it) and the buckets are added up per local day here.
 */
import { and, eq, gte, lt, sql } from "drizzle-orm";
import { localDay } from "../domain/next-fire";
import type { Db } from "./client";
import { usd } from "./present";
import { runs } from "./schema";

export type UsageQuery = { from: number; to: number; goalId?: string; groupBy: "day" | "goal" | "model"; tz: string };
export type UsageRow = { key: string; runs: number; promptTokens: number; completionTokens: number; costUsd: number; unpricedRuns: number };

const BUCKET_MS = 15 * 60_000;

export async function usageRows(db: Db, q: UsageQuery): Promise<{ items: UsageRow[]; totals: Omit<UsageRow, "key"> }> {
  const key = q.groupBy === "goal" ? runs.goalId : q.groupBy === "model" ? sql`coalesce(${runs.model}, 'unknown')` : sql`${runs.startedAt} / ${BUCKET_MS}`;
  const rows = await db
    .select({
      k: sql<string | number>`${key}`,
      runs: sql<number>`count(*)`,
      promptTokens: sql<number>`sum(${runs.promptTokens})`,
      completionTokens: sql<number>`sum(${runs.completionTokens})`,
      nanos: sql<number>`coalesce(sum(${runs.costNanos}), 0)`,
      unpricedRuns: sql<number>`sum(${runs.costNanos} IS NULL)`,
    })
    .from(runs)
    .where(and(gte(runs.startedAt, q.from), lt(runs.startedAt, q.to), q.goalId ? eq(runs.goalId, q.goalId) : undefined))
    .groupBy(key);
  const sums = new Map<string, Omit<UsageRow, "key" | "costUsd"> & { nanos: number }>();
  const total = { runs: 0, promptTokens: 0, completionTokens: 0, nanos: 0, unpricedRuns: 0 };
  for (const r of rows) {
    const k = q.groupBy === "day" ? localDay(Number(r.k) * BUCKET_MS, q.tz) : String(r.k);
    const s = sums.get(k) ?? { runs: 0, promptTokens: 0, completionTokens: 0, nanos: 0, unpricedRuns: 0 };
    for (const acc of [s, total]) {
      acc.runs += r.runs;
      acc.promptTokens += r.promptTokens;
      acc.completionTokens += r.completionTokens;
      acc.nanos += r.nanos;
      acc.unpricedRuns += r.unpricedRuns;
    }
    sums.set(k, s);
  }
  const out = ({ nanos, ...s }: typeof total) => ({ ...s, costUsd: usd(nanos) ?? 0 });
  // Days in order; goals and models by cost, largest first.
  const items = [...sums].map(([key, s]) => ({ key, ...out(s) }));
  items.sort((a, b) => (q.groupBy === "day" ? (a.key < b.key ? -1 : 1) : b.costUsd - a.costUsd || b.runs - a.runs));
  return { items, totals: out(total) };
}
