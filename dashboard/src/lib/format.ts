/** How times, durations, money and schedules read on the dashboard (in the browser's locale and zone). */
import { cronInWords } from "../../../worker/domain/cron-words";

const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ["year", 31_536_000_000],
  ["month", 2_592_000_000],
  ["day", 86_400_000],
  ["hour", 3_600_000],
  ["minute", 60_000],
  ["second", 1000],
];

/** "in 3 hours", "5 minutes ago". */
export function relative(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return "";
  const diff = Date.parse(iso) - now;
  for (const [unit, ms] of UNITS) if (Math.abs(diff) >= ms || unit === "second") return rtf.format(Math.round(diff / ms), unit);
  return "";
}

/** "3 Dec 2026, 16:00" in the browser's zone. */
export const local = (iso: string | null | undefined) => (iso ? dateTime.format(new Date(iso)) : "—");

const soon = new Intl.DateTimeFormat(undefined, { weekday: "short", hour: "2-digit", minute: "2-digit" });
const later = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });

/** "Fri 16:00" within the coming week, "4 Jan, 16:00" beyond it, in the browser's zone. */
export function shortLocal(iso: string, now = Date.now()): string {
  const t = Date.parse(iso);
  return (t - now < 6 * 86_400_000 ? soon : later).format(new Date(t));
}

/** "850 ms", "12.3 s", "4 min 05 s". */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const min = Math.floor(ms / 60_000);
  return `${min} min ${String(Math.round((ms % 60_000) / 1000)).padStart(2, "0")} s`;
}

export function runDuration(r: { startedAt: string | null; endedAt: string | null }, now = Date.now()): number | null {
  if (!r.startedAt) return null;
  return (r.endedAt ? Date.parse(r.endedAt) : now) - Date.parse(r.startedAt);
}

/** "$0.0123", "—" when the price is unknown. */
export function usd(v: number | null | undefined): string {
  if (v === null || v === undefined) return "—";
  return v === 0 ? "$0" : v < 0.01 ? `$${v.toFixed(4)}` : `$${v.toFixed(2)}`;
}

export const count = (n: number) => n.toLocaleString();

/** "Fridays at 16:00, Europe/Berlin"; "Run by hand" without a schedule. */
export function scheduleWords(schedule: { cron: string; timezone: string } | null): string {
  return schedule ? `${cronInWords(schedule.cron)}, ${schedule.timezone}` : "No schedule (runs by hand or webhook)";
}
