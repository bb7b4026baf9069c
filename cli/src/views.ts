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
    case "waiting":
      // A run that needs a person: the one status worth a symbol.
      return c.magenta(`⚑ ${status}`);
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
    ["needs approval", g.params.requireApproval?.join(", ")],
    ["approval timeout", g.params.approvalTimeoutSeconds === undefined ? null : seconds(g.params.approvalTimeoutSeconds)],
    ["email to", g.params.emailRecipients?.join(", ")],
    ["allowed domains", g.params.allowedDomains?.join(", ")],
    ["denied domains", g.params.deniedDomains?.join(", ")],
    ["model", g.params.model],
    ["overlap", g.params.overlap],
    ["created", relativeTime(g.createdAt)],
  ]);
  fireTimes(p, g.nextFireTimes, g.status !== "active" ? `(paused: the goal does not fire until resumed)` : undefined);
}

/** 86400 → "1 day", 5400 → "90 min": the largest unit that divides it evenly. */
function seconds(s: number): string {
  for (const [unit, n] of [
    ["day", 86_400],
    ["hour", 3600],
    ["min", 60],
  ] as const)
    if (s % n === 0) return `${s / n} ${unit}${unit !== "min" && s !== n ? "s" : ""}`;
  return `${s} s`;
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
  if (r.waitingFor) {
    p.line();
    waitingBlock(p, r);
  }
  if (r.plan) {
    p.line();
    for (const l of planLines(p, r.plan)) p.line(l);
  }
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

/** When a wait ends: "in 23 hours (2026-12-04 10:40 UTC)". */
const until = (iso: string) => `${relativeTime(iso)} (${iso.slice(0, 16).replace("T", " ")} UTC)`;
const INPUT_MAX = 2000;

/** What a waiting run waits for, and the command lines that decide it. `r` is terminal-safe already. */
export function waitingBlock(p: Printer, r: Run): void {
  const w = r.waitingFor;
  if (!w) return;
  const mark = p.c.magenta("⚑");
  const cmd = (label: string, args: string) => p.line(`  ${p.c.dim(label.padEnd(8))} ${hint(args)}`);
  if (w.kind === "approval") {
    p.line(`${mark} run ${r.id} waits for your approval to call ${p.c.bold(w.tool)} · expires ${until(w.expiresAt)}`);
    // The whole input: a person approving a call should see all of it.
    const json = JSON.stringify(w.input ?? null, null, 2);
    const shown = json.length > INPUT_MAX ? `${json.slice(0, INPUT_MAX)}…\n(cut: the whole input with ${hint(`run show ${r.id} --json`)})` : json;
    for (const l of shown.split("\n")) p.line(`    ${l}`);
    cmd("approve:", `run approve ${r.id}`);
    cmd("deny:", `run deny ${r.id} --note "<why>"`);
  } else {
    p.line(`${mark} run ${r.id} asks: ${p.c.bold(w.question)} · expires ${until(w.expiresAt)}`);
    if (w.choices?.length) p.line(`  ${p.c.dim("choices:".padEnd(8))} ${w.choices.join(" · ")}`);
    cmd("answer:", `run answer ${r.id} "<text>"`);
  }
}

type Plan = NonNullable<Run["plan"]>;
const PLAN_MARKS: Record<Plan["items"][number]["status"], (p: Printer) => string> = {
  done: (p) => p.c.green("[x]"),
  in_progress: (p) => p.c.yellow("[~]"),
  pending: () => "[ ]",
  skipped: (p) => p.c.dim("[-]"),
};

/**
 * The plan as a checklist, one string per line, each at most `width` columns (the live view redraws
 * it in place and must know how many terminal lines it takes). `plan` is terminal-safe already.
 */
export function planLines(p: Printer, plan: Plan, width = p.width): string[] {
  const done = plan.items.filter((i) => i.status === "done").length;
  const lines = [`${p.c.bold("Plan")} ${p.c.dim(`${done}/${plan.items.length} done`)}`];
  for (const item of plan.items) {
    const title = truncate(oneLine(item.title), Math.max(10, width - 6));
    lines.push(`  ${PLAN_MARKS[item.status](p)} ${item.status === "skipped" ? p.c.dim(title) : title}`);
  }
  if (plan.note) lines.push(`  ${p.c.dim(truncate(oneLine(plan.note), Math.max(10, width - 2)))}`);
  return lines;
}
