/**
 * Cron expressions in IANA time zones. croner computes in the zone itself, so DST is handled:
 * a local time that does not exist (spring forward) fires once at the shifted time, and a
 * repeated local hour (fall back) fires once. The `agents` SDK's own schedule() is UTC-only,
 * which is why user schedules never go through it.
 */
import { Cron } from "croner";

/** Returns an error message for an invalid 5-field cron, or null when it is valid. */
export function cronError(expr: string): string | null {
  const fields = expr.trim().split(/\s+/);
  if (fields.length !== 5) return `expected 5 fields (minute hour day month weekday), got ${fields.length}`;
  try {
    new Cron(expr, { paused: true, mode: "5-part" });
    return null;
  } catch (e) {
    return e instanceof Error ? e.message.replace(/^CronPattern: /, "") : "invalid cron expression";
  }
}

export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return tz.length > 0;
  } catch {
    return false;
  }
}

/** The next `count` fire times strictly after `after`. */
export function nextFireTimes(cron: string, timezone: string, after: Date, count = 1): Date[] {
  const job = new Cron(cron, { timezone, paused: true, mode: "5-part" });
  return job.nextRuns(count, after);
}

export function nextFireTime(cron: string, timezone: string, after: Date): Date | null {
  return nextFireTimes(cron, timezone, after, 1)[0] ?? null;
}

/** "2026-11-27 16:00 CET": a fire time as the user reads it in the goal's zone. */
export function formatLocal(date: Date, timezone: string): string {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone: timezone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
    timeZoneName: "short",
    weekday: "short",
  }).formatToParts(date);
  const p = (type: string) => parts.find((x) => x.type === type)?.value ?? "";
  return `${p("weekday")} ${p("year")}-${p("month")}-${p("day")} ${p("hour")}:${p("minute")} ${p("timeZoneName")}`;
}
