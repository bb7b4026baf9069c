/**
 * Cron expressions in IANA time zones. croner computes in the zone itself, so DST is handled:
 * a local time that does not exist (spring forward) fires once at the shifted time, and a
 * repeated local hour (fall back) fires once. The `agents` SDK's own schedule() is UTC-only,
 * which is why user schedules never go through it.
 */
import { Cron } from "croner";

/**
 * Returns an error message for an invalid 5-field cron, or null when it is valid. A cron that parses
 * but matches no date ("0 0 30 2 *": February 30th) is invalid too: it would be an active schedule
 * that never fires. Whether a date exists does not depend on the time zone, so UTC decides.
 */
export function cronError(expr: string): string | null {
  return cached(verdicts, expr, () => checkCron(expr));
}

/** cronError's verdicts, reused: validating a goal's cron is most of a create's CPU, and many goals share one. */
const verdicts = new Map<string, string | null>();

function checkCron(expr: string): string | null {
  const fields = expr.trim().split(/\s+/);
  if (fields.length !== 5) return `expected 5 fields (minute hour day month weekday), got ${fields.length}`;
  let job: Cron;
  try {
    job = new Cron(expr, { paused: true, mode: "5-part", timezone: "UTC" });
  } catch (e) {
    return e instanceof Error ? e.message.replace(/^CronPattern: /, "") : "invalid cron expression";
  }
  // croner gives up at year 3000: a few ms of CPU for a cron that never matches.
  return job.nextRun() ? null : `the schedule never fires: no date matches "${expr.trim()}"`;
}

export function isTimeZone(tz: string): boolean {
  if (zones.has(tz)) return true;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
  } catch {
    return false;
  }
  if (!tz.length) return false;
  // Only valid zones are kept (a few hundred exist), so the set cannot grow without limit.
  zones.add(tz);
  return true;
}

const zones = new Set<string>();

/**
 * Parsed crons, reused across goals and ticks: many goals share a schedule, and parsing is the
 * costly part of a cron tick's CPU time (10 ms Free / up to 5 min Paid per invocation). Bounded so a
 * Worker isolate does not grow without limit.
 */
const jobs = new Map<string, Cron>();
const MAX_CACHED = 1000;

function jobFor(cron: string, timezone: string): Cron {
  return cached(jobs, `${cron}\u0000${timezone}`, () => new Cron(cron, { timezone, paused: true, mode: "5-part" }));
}

/** `cache`'s value for `key`, made by `make` when absent; a full cache is emptied first, so an isolate does not grow without limit. */
function cached<V>(cache: Map<string, V>, key: string, make: () => V): V {
  if (cache.has(key)) return cache.get(key) as V;
  if (cache.size >= MAX_CACHED) cache.clear();
  const value = make();
  cache.set(key, value);
  return value;
}

/**
 * The upcoming fire times of each schedule, as last computed (`from`: the instant they follow). Goals sharing
 * a schedule share its next fire times, so creating, presenting and firing them reuses one computation
 * (each zoned nextRun() costs 50–150 µs of CPU) until the cached times have passed.
 */
const upcoming = new Map<string, { from: number; times: Date[] }>();
/** How many fire times a computation keeps: enough for a goal's next run and the 3 it presents after it. */
const UPCOMING_KEPT = 5;

/** The next `count` fire times strictly after `after`. */
export function nextFireTimes(cron: string, timezone: string, after: Date, count = 1): Date[] {
  const key = `${cron}\u0000${timezone}`;
  const at = after.getTime();
  const hit = upcoming.get(key);
  // The cached times are every fire time after `from`: those after a later `after` are a tail of them.
  if (hit && hit.from <= at) {
    const k = hit.times.findIndex((t) => t.getTime() > at);
    if (k >= 0 && k + count <= hit.times.length) return hit.times.slice(k, k + count);
    // Fewer than asked because the schedule ends (croner's horizon), not because fewer were computed.
    if (hit.times.length < UPCOMING_KEPT && k >= 0) return hit.times.slice(k);
  }
  const times = jobFor(cron, timezone).nextRuns(Math.max(count, UPCOMING_KEPT), after);
  if (!hit || hit.from <= at) {
    if (upcoming.size >= MAX_CACHED) upcoming.clear();
    upcoming.set(key, { from: at, times });
  }
  return times.slice(0, count);
}

/** Missed fire times counted one by one per goal; beyond this the rest are estimated (see planFire). */
export const EXACT_SKIP_COUNT_LIMIT = 100;

/** What one tick does for a due goal: which fire time it runs, how many it skipped, when it fires next. */
export type FirePlan = { scheduledFor: number; skippedCount: number; nextRunAt: number | null };

/**
 * A budget of nextRun() calls for counting missed fire times, shared by one tick: each call costs
 * ~50-150 µs of CPU (time zone arithmetic); 20,000 of them stay within a few seconds, far below
 * the Paid plan's CPU limit per invocation (30 s by default, up to 5 min).
 */
export type CountBudget = { left: number };

/**
 * Catch-up: a goal due at `dueAt` (its stored next_run_at) and seen at `now` runs once, for the
 * latest fire time <= now; the fire times before it are recorded as skipped. The usual case (no
 * gap) is one nextRun() call, which also yields the new next_run_at. Skipped fire times are counted
 * exactly up to EXACT_SKIP_COUNT_LIMIT (and while the tick's budget lasts); the rest are estimated
 * from the cron's current interval, which is exact for regular crons away from DST changes.
 */
export function planFire(cron: string, timezone: string, dueAt: number, now: number, budget: CountBudget = { left: Infinity }): FirePlan {
  const job = jobFor(cron, timezone);
  const next = job.nextRun(new Date(dueAt));
  if (!next || next.getTime() > now) return { scheduledFor: dueAt, skippedCount: 0, nextRunAt: next?.getTime() ?? null };

  const latest = Math.max(job.previousRuns(1, new Date(now + 1))[0]?.getTime() ?? 0, next.getTime());
  const after = job.nextRun(new Date(latest))?.getTime() ?? null;
  let skippedCount = 1; // dueAt itself
  let cursor = next.getTime();
  for (let i = 0; cursor < latest && i < EXACT_SKIP_COUNT_LIMIT && budget.left > 0; i++, budget.left--) {
    skippedCount++;
    cursor = job.nextRun(new Date(cursor))?.getTime() ?? latest;
  }
  if (cursor < latest) {
    const interval = after !== null ? after - latest : latest - dueAt;
    skippedCount += Math.max(1, Math.round((latest - cursor) / Math.max(interval, 60_000)));
  }
  return { scheduledFor: latest, skippedCount, nextRunAt: after };
}

export function nextFireTime(cron: string, timezone: string, after: Date): Date | null {
  return nextFireTimes(cron, timezone, after, 1)[0] ?? null;
}

// Building an Intl.DateTimeFormat costs ~0.1 ms; one per zone is kept for the isolate's life.
const formatters = new Map<string, Intl.DateTimeFormat>();
function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-CA", {
      timeZone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
      timeZoneName: "short",
      weekday: "short",
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/**
 * Fire times as shown, reused: formatToParts costs tens of µs, a list shows one per goal, and goals sharing a
 * schedule share their next fire times.
 */
const shown = new Map<string, string>();

/** "Fri 2026-11-27 16:00 CET": a fire time as the user reads it in the goal's zone. */
export function formatLocal(date: Date, timezone: string): string {
  return cached(shown, `${date.getTime()}\u0000${timezone}`, () => {
    const parts = formatterFor(timezone).formatToParts(date);
    const p = (type: string) => parts.find((x) => x.type === type)?.value ?? "";
    return `${p("weekday")} ${p("year")}-${p("month")}-${p("day")} ${p("hour")}:${p("minute")} ${p("timeZoneName")}`;
  });
}

/** "2026-12-03": the calendar day of `ms` in `timezone` (the formatter's en-CA parts are zero-padded). */
export function localDay(ms: number, timezone: string): string {
  const parts = formatterFor(timezone).formatToParts(new Date(ms));
  const p = (type: string) => parts.find((x) => x.type === type)?.value ?? "";
  return `${p("year")}-${p("month")}-${p("day")}`;
}
