/**
 * Rows → the public objects the API answers with and webhooks carry: camelCase, ISO 8601 UTC timestamps,
 * nothing secret. The API's response schemas (api/schemas.ts) describe these shapes; the routes' typed
 * responses check that they match.
 */
import { formatLocal, nextFireTimes } from "../domain/next-fire";
import { iso } from "../lib/iso";
import type { GoalRow, OutputRow, RunRow, StepRow, WaitRow } from "./schema";

const isoOrNull = (ms: number | null) => (ms === null ? null : iso(ms));
/** Nano-USD (how costs are stored: integers add up exactly) as USD; null stays null (price unknown). */
export const usd = (nanos: number | null) => (nanos === null ? null : nanos / 1e9);

type Usage = Pick<StepRow, "promptTokens" | "completionTokens" | "cachedTokens" | "reasoningTokens">;
const tokensOf = (u: Usage) => ({
  prompt: u.promptTokens,
  completion: u.completionTokens,
  cached: u.cachedTokens,
  reasoning: u.reasoningTokens,
  total: u.promptTokens + u.completionTokens,
});

/**
 * The next `count` fire times, starting at the stored next_run_at (what is stored is what the user is told).
 * Computing a zoned cron costs ~1 ms of CPU per goal, so lists show only the stored next run.
 */
export function upcomingFires(g: Pick<GoalRow, "cron" | "timezone" | "nextRunAt">, count = 3) {
  if (!g.cron || g.nextRunAt === null) return [];
  const first = new Date(g.nextRunAt);
  const rest = count > 1 ? nextFireTimes(g.cron, g.timezone, first, count - 1) : [];
  return [first, ...rest].map((d) => ({ utc: iso(d.getTime()), local: formatLocal(d, g.timezone) }));
}

/** A goal as the API shows it: with its next 3 fire times, or only the next one in lists. */
export function presentGoal(g: GoalRow, fires: 1 | 3 = 3) {
  return {
    id: g.id,
    objective: g.objective,
    status: g.status,
    schedule: g.cron ? { cron: g.cron, timezone: g.timezone } : null,
    nextRunAt: isoOrNull(g.nextRunAt),
    nextFireTimes: upcomingFires(g, fires),
    webhookUrl: g.webhookUrl,
    params: g.params,
    createdAt: iso(g.createdAt),
    updatedAt: iso(g.updatedAt),
  };
}

/** A run as the API shows it; `withInput` for one run (lists and events leave the input out: it can be 256 KB). */
/** What a waiting run waits for (`waitingFor`): the call to approve, or the question to answer. */
export function presentWait(w: WaitRow) {
  const base = { id: w.id, stepNo: w.stepNo, askedAt: iso(w.askedAt), expiresAt: iso(w.expiresAt) };
  return w.kind === "approval"
    ? { kind: "approval" as const, ...base, tool: w.tool ?? "", input: w.input ?? null }
    : { kind: "question" as const, ...base, question: w.question ?? "", ...(w.choices ? { choices: w.choices } : {}) };
}

/**
 * A run for the API. `wait`: the run's open wait, for one run (GET /runs/:id, the waiting event); lists
 * leave `waitingFor` out, and a client that sees `waiting` there reads the run.
 */
export function presentRun(r: Omit<RunRow, "input" | "plan"> & { input?: unknown; plan?: RunRow["plan"] }, withInput = false, wait?: WaitRow | null) {
  return {
    id: r.id,
    goalId: r.goalId,
    status: r.status,
    trigger: r.trigger,
    scheduledFor: isoOrNull(r.scheduledFor),
    startedAt: isoOrNull(r.startedAt),
    endedAt: isoOrNull(r.endedAt),
    stepsExecuted: r.stepsExecuted,
    stepBudget: r.stepBudget,
    tokens: tokensOf(r),
    costUsd: usd(r.costNanos),
    model: r.model,
    summary: r.summary,
    error: r.error,
    endReason: r.endReason,
    skippedCount: r.skippedCount,
    delivery: r.deliveryId === null ? null : { id: r.deliveryId, event: r.deliveryEvent },
    ...(withInput ? { input: r.input ?? null } : {}),
    plan: r.plan ? { items: r.plan.items, ...(r.plan.note ? { note: r.plan.note } : {}), updatedAt: iso(r.plan.updatedAt) } : null,
    ...(wait !== undefined ? { waitingFor: wait && r.status === "waiting" ? presentWait(wait) : null } : {}),
    createdAt: iso(r.createdAt),
    updatedAt: iso(r.updatedAt),
  };
}

export function presentStep(s: StepRow) {
  return {
    runId: s.runId,
    stepNo: s.stepNo,
    thought: s.thought,
    toolName: s.toolName,
    toolInput: s.toolInput ?? null,
    observation: s.observation,
    durationMs: s.durationMs,
    tokens: tokensOf(s),
    costUsd: usd(s.costNanos),
    error: s.error,
    createdAt: iso(s.createdAt),
  };
}

export function presentOutput(o: OutputRow) {
  return { id: o.id, runId: o.runId, kind: o.kind, path: o.path, payload: o.payload ?? null, createdAt: iso(o.createdAt) };
}
