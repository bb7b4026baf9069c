/**
 * A five-field cron in words, for people: "Fridays at 16:00", "Every 15 minutes", "Weekdays at 09:00 and
 * 17:00". Covers the shapes people write; anything else reads as `cron "<expr>"` rather than a guess.
 * No imports: the dashboard shows it for every goal of a list without a round trip, the API with a preview.
 */
const DAYS = ["Sundays", "Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const NAMED: Record<string, number> = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 };

const num = /^\d+$/;
const pad = (n: number) => String(n).padStart(2, "0");
/** "a, b and c" */
const and = (xs: string[]) => (xs.length < 2 ? (xs[0] ?? "") : `${xs.slice(0, -1).join(", ")} and ${xs.at(-1)}`);

/** The numbers of a field made of values and ranges ("1-5", "1,3,5"); null for steps, names of months or "*". */
function values(field: string, names: Record<string, number> = {}): number[] | null {
  const out: number[] = [];
  for (const part of field.toLowerCase().split(",")) {
    const ends = part.split("-");
    const [a, b] = ends.map((x) => (num.test(x) ? Number(x) : names[x]));
    if (a === undefined || ends.length > 2 || (ends.length === 2 && b === undefined)) return null;
    if (b === undefined) out.push(a);
    else for (let i = a; i <= b; i++) out.push(i);
  }
  return out;
}

function dayWords(field: string): string | null {
  if (field === "*") return null;
  const days = values(field, NAMED)?.map((d) => d % 7);
  if (!days?.length || days.some((d) => d > 6)) return "";
  const set = [...new Set(days)].sort();
  if (set.join() === "1,2,3,4,5") return "Weekdays";
  if (set.join() === "0,6") return "Weekends";
  return and(set.map((d) => DAYS[d]));
}

/** The time part ("at 09:00 and 17:00", "every 15 minutes", ...) or null when it has no simple reading. */
function timeWords(min: string, hour: string): string | null {
  const step = /^\*\/(\d+)$/;
  if (min === "*" && hour === "*") return "every minute";
  if (step.test(min) && hour === "*") return `every ${min.match(step)![1]} minutes`;
  const mins = values(min);
  if (mins && mins.length === 1 && hour === "*") return `every hour at :${pad(mins[0])}`;
  if (mins && mins.length === 1 && step.test(hour)) return `every ${hour.match(step)![1]} hours at :${pad(mins[0])}`;
  const hours = values(hour);
  if (mins && hours && mins.length * hours.length <= 6) return `at ${and(hours.flatMap((h) => mins.map((m) => `${pad(h)}:${pad(m)}`)))}`;
  return null;
}

const capital = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** "Fridays at 16:00" — without the zone; callers add it where the reader needs it. */
export function cronInWords(expr: string): string {
  const f = expr.trim().split(/\s+/);
  const fallback = `cron "${expr.trim()}"`;
  if (f.length !== 5) return fallback;
  const [min, hour, dom, month, dow] = f;
  const time = timeWords(min, hour);
  if (time === null) return fallback;
  const days = dayWords(dow);
  if (days === "") return fallback;
  if (dom === "*" && month === "*") return days ? `${days} ${time}` : capital(time.startsWith("at") ? `daily ${time}` : time);
  const doms = values(dom);
  const months = month === "*" ? [] : values(month);
  if (!doms || !months || days) return fallback;
  const where = months.length
    ? `on ${and(doms.map(String))} ${and(months.map((m) => MONTHS[m - 1] ?? String(m)))}`
    : `on day ${and(doms.map(String))} of each month`;
  return capital(`${where} ${time}`);
}
