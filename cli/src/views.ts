/** How goals, runs and steps read in a terminal. JSON output never goes through here. */
import type { Goal, Run, Step } from "../../worker/api/schemas";
import { hint } from "./invocation";
import { duration, oneLine, type Printer, relativeTime, truncate } from "./output";

export function statusLabel(p: Printer, status: string): string {
  const { c } = p;
  switch (status) {
    case "active":
    case "completed":
      return c.green(status);
    case "running":
    case "pending":
      return c.cyan(status);
    case "failed":
      return c.red(status);
    case "paused":
    case "cancelled":
    case "skipped":
      return c.yellow(status);
    default:
      return c.dim(status);
  }
}

export const scheduleLabel = (g: Goal) => (g.schedule ? `${g.schedule.cron} (${g.schedule.timezone})` : "manual");

export function goalTable(p: Printer, goals: Goal[]): void {
  if (!goals.length) {
    p.line(p.c.dim(`No goals yet. Create one: ${hint('goal create --objective "…" --schedule "0 16 * * 5"')}`));
    return;
  }
  p.table(
    ["ID", "STATUS", "SCHEDULE", "NEXT RUN", "OBJECTIVE"],
    goals.map((g) => [
      g.id,
      statusLabel(p, g.status),
      g.schedule?.cron ?? "manual",
      g.status === "active" ? relativeTime(g.nextRunAt) : "—",
      oneLine(g.objective),
    ]),
  );
}

export function goalDetail(p: Printer, g: Goal): void {
  p.fields([
    ["id", g.id],
    ["status", statusLabel(p, g.status)],
    ["objective", g.objective],
    ["schedule", scheduleLabel(g)],
    ["webhook", g.webhookUrl],
    ["step budget", g.params.stepBudget?.toString()],
    [
      "monthly budget",
      [g.params.monthlyBudgetUsd && money(g.params.monthlyBudgetUsd), g.params.monthlyTokenBudget && `${g.params.monthlyTokenBudget} tokens`]
        .filter(Boolean)
        .join(" · "),
    ],
    ["this month", g.usage && `${money(g.usage.costUsd)} · ${g.usage.tokens} tokens (${g.usage.month})`],
    ["last run cost", g.usage?.lastRun && money(g.usage.lastRun.costUsd)],
    ["readiness", g.readiness && (g.readiness.ready ? p.c.green("ready") : p.c.red(`runs skipped: ${g.readiness.reason}`))],
    ["tools", g.params.allowedTools?.join(", ")],
    ["email to", g.params.emailRecipients?.join(", ")],
    ["allowed domains", g.params.allowedDomains?.join(", ")],
    ["denied domains", g.params.deniedDomains?.join(", ")],
    ["model", g.params.model],
    ["overlap", g.params.overlap],
    ["created", relativeTime(g.createdAt)],
  ]);
  fireTimes(p, g.nextFireTimes, g.status !== "active" ? `(paused: the goal does not fire until resumed)` : undefined);
}

export function fireTimes(p: Printer, fires: { utc: string; local: string }[], note?: string): void {
  if (!fires.length) return;
  p.line(p.c.dim(`next runs${note ? ` ${note}` : ""}:`));
  for (const f of fires) p.line(`  ${f.local}  ${p.c.dim(relativeTime(f.utc))}`);
}

export function runTable(p: Printer, runs: Run[]): void {
  if (!runs.length) {
    p.line(p.c.dim("No runs."));
    return;
  }
  p.table(
    ["ID", "STATUS", "TRIGGER", "STEPS", "STARTED", "DURATION", "GOAL"],
    runs.map((r) => [
      r.id,
      statusLabel(p, r.status),
      r.trigger,
      `${r.stepsExecuted}/${r.stepBudget}`,
      relativeTime(r.startedAt ?? r.createdAt),
      runDuration(r),
      r.goalId,
    ]),
  );
}

export function runDuration(r: Run): string {
  if (!r.startedAt) return "—";
  const end = r.endedAt ? Date.parse(r.endedAt) : Date.now();
  return duration(end - Date.parse(r.startedAt));
}

export function runDetail(p: Printer, r: Run): void {
  p.fields([
    ["id", r.id],
    ["goal", r.goalId],
    ["status", statusLabel(p, r.status)],
    ["trigger", r.trigger],
    ["input", r.input === null || r.input === undefined ? null : inputSummary(r.input, 80)],
    ["scheduled", r.scheduledFor ? `${r.scheduledFor} (${relativeTime(r.scheduledFor)})` : null],
    ["started", r.startedAt ? relativeTime(r.startedAt) : null],
    ["duration", runDuration(r)],
    ["steps", `${r.stepsExecuted}/${r.stepBudget}`],
    ["tokens", r.tokens.total ? String(r.tokens.total) : null],
    ["cost", r.tokens.total ? `${money(r.costUsd)}${r.model ? ` (${r.model})` : ""}` : null],
    ["end reason", r.endReason],
    ["error", r.error ? p.c.red(r.error) : null],
  ]);
  if (r.summary) {
    p.line();
    p.line(p.c.bold("Summary"));
    p.line(r.summary);
  }
}

/** `{ query: "top AI news", limit: 5 }` → `query="top AI news" limit=5`, cut to `max`. */
export function inputSummary(input: unknown, max = 60): string {
  if (input === null || input === undefined) return "";
  if (typeof input !== "object" || Array.isArray(input)) return truncate(oneLine(JSON.stringify(input)), max);
  const parts = Object.entries(input as Record<string, unknown>).map(
    ([k, v]) => `${k}=${typeof v === "string" ? JSON.stringify(oneLine(v)) : JSON.stringify(v)}`,
  );
  return truncate(parts.join(" "), max);
}

/** One finished step on one line: mark, number, tool, input summary, duration. */
export function stepLine(p: Printer, s: Step): string {
  const mark = s.error ? p.c.red("✗") : p.c.green("✓");
  const tool = s.toolName ?? "answer";
  const input = inputSummary(s.toolInput, Math.max(20, p.width - tool.length - 24));
  return `${mark} ${p.c.dim(String(s.stepNo).padStart(2))} ${p.c.bold(tool)}${input ? ` ${input}` : ""} ${p.c.dim(duration(s.durationMs))}`;
}

/** A step in full, for `run logs`: the line, then the thought, the observation or the error. */
export function stepBlock(p: Printer, s: Step): void {
  p.line(stepLine(p, s));
  const indent = (t: string) =>
    t
      .split("\n")
      .map((l) => `     ${l}`)
      .join("\n");
  if (s.thought) p.line(p.c.dim(indent(s.thought)));
  if (s.error) p.line(p.c.red(indent(`error: ${s.error}`)));
  else if (s.observation) p.line(indent(s.observation.length > 2000 ? `${s.observation.slice(0, 2000)}…` : s.observation));
}

/** USD as people read it: cents above a dollar cent, four decimals below; null is an unknown price. */
export const money = (usd: number | null | undefined) =>
  usd === null || usd === undefined ? "unknown" : `$${usd >= 0.01 || usd === 0 ? usd.toFixed(2) : usd.toFixed(4)}`;

/** A horizontal bar of `fraction` (0–1) of `width` cells, in eighths of a cell. */
export function bar(fraction: number, width: number): string {
  const eighths = Math.round(Math.min(1, Math.max(0, fraction)) * width * 8);
  return "█".repeat(Math.floor(eighths / 8)) + (eighths % 8 ? " ▏▎▍▌▋▊▉"[eighths % 8] : "");
}

export function runEnd(p: Printer, r: Run): void {
  const usage = r.tokens.total ? ` · ${r.tokens.total} tokens · ${money(r.costUsd)}` : "";
  const stats = `${runDuration(r)} · ${r.stepsExecuted} step${r.stepsExecuted === 1 ? "" : "s"}${usage}`;
  if (r.status === "completed") p.line(`${p.c.green("✓")} ${p.c.bold("completed")} ${p.c.dim(stats)}`);
  else p.line(`${p.c.red("✗")} ${p.c.bold(r.status)}${r.error ? `: ${r.error}` : ""} ${p.c.dim(stats)}`);
  if (r.summary) {
    p.line();
    p.line(r.summary);
  }
}
