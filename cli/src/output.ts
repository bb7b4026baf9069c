/**
 * The one printer. `--json` prints only JSON on stdout; otherwise text for people: tables,
 * relative times, colour only on a TTY and never with NO_COLOR, a spinner only when both
 * stdout and stderr are terminals. No control character from the data reaches the terminal
 * (terminal-safe.ts): human renderers get the data made visible, and every line passes a gate.
 */
import { createColors } from "picocolors";
import { gate, jsonText, visible, visibleDeep } from "./terminal-safe";

export type Colors = ReturnType<typeof createColors>;

const colorOn = (stream: NodeJS.WriteStream) => !!stream.isTTY && !("NO_COLOR" in process.env && process.env.NO_COLOR !== "");

// ECMA-48 CSI sequences: what picocolors and the spinner emit.
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;
export const visibleLength = (s: string) => s.replace(ANSI, "").length;

export class Printer {
  readonly c: Colors;
  readonly err: Colors;
  constructor(
    readonly json: boolean,
    private readonly out: NodeJS.WriteStream = process.stdout,
    private readonly errOut: NodeJS.WriteStream = process.stderr,
  ) {
    this.c = createColors(!json && colorOn(out));
    this.err = createColors(colorOn(errOut));
  }

  /** Interactive: people at a terminal, so prompts and spinners are allowed. */
  get interactive(): boolean {
    return !this.json && !!process.stdin.isTTY && !!this.out.isTTY;
  }

  /** People at a terminal on stdout (not --json): bars and sparklines are worth drawing. */
  get tty(): boolean {
    return !this.json && !!this.out.isTTY;
  }

  get width(): number {
    // A pty without a size (script, some CI) reports 0 columns.
    return this.out.isTTY ? this.out.columns || 100 : 120;
  }

  /** Rows of the terminal (a live block taller than this cannot be redrawn in place). */
  get height(): number {
    return this.out.isTTY ? this.out.rows || 24 : Number.POSITIVE_INFINITY;
  }

  line(text = ""): void {
    this.out.write(`${gate(text)}\n`);
  }

  /**
   * Moves back up over the last `lines` lines of stdout and clears them, on a terminal only (the live
   * plan of `run watch`). The printer's own control sequence, written past the gate that stops the data's.
   */
  eraseLines(lines: number): void {
    if (this.tty && lines > 0) this.out.write(`\r\x1b[${lines}A\x1b[J`);
  }

  /** Prints `value` as JSON with --json, else runs the human renderer on the value made terminal-safe. */
  result<T>(value: T, human: (v: T) => void): void {
    if (this.json) this.out.write(`${jsonText(JSON.stringify(value, null, 2))}\n`);
    else human(visibleDeep(value));
  }

  /** Data from the API (the model, tools, the web) made terminal-safe, for renderers outside `result`. */
  safe<T>(value: T): T {
    return visibleDeep(value);
  }

  /** One JSON document per line (for streams): --json only. */
  ndjson(value: unknown): void {
    this.out.write(`${jsonText(JSON.stringify(value))}\n`);
  }

  success(text: string): void {
    if (!this.json) this.line(`${this.c.green("✓")} ${text}`);
  }

  /** Notes for people go to stderr so stdout stays clean for pipes. */
  note(text: string): void {
    if (!this.json) this.errOut.write(`${this.err.dim(visible(text))}\n`);
  }

  warn(text: string): void {
    this.errOut.write(`${this.err.yellow("!")} ${visible(text)}\n`);
  }

  /** Error messages often carry the server's words (and so the web's): made visible too. */
  error(text: string): void {
    this.errOut.write(`${this.err.red("error:")} ${visible(text)}\n`);
  }

  /** Aligned columns; the last column is cut to the terminal width. */
  table(headers: string[], rows: string[][]): void {
    if (!rows.length) return;
    const all = [headers.map((h) => this.c.bold(h)), ...rows];
    const widths = headers.map((_, i) => Math.max(...all.map((r) => visibleLength(r[i] ?? ""))));
    const used = widths.slice(0, -1).reduce((a, w) => a + w + 2, 0);
    const lastMax = Math.max(20, this.width - used);
    for (const row of all) {
      const cells = row.map((cell, i) => (i === row.length - 1 ? truncate(cell, lastMax) : pad(cell, widths[i])));
      this.line(cells.join("  ").trimEnd());
    }
  }

  /** "key   value" pairs, keys aligned. */
  fields(pairs: [string, string | null | undefined][]): void {
    const shown = pairs.filter((p): p is [string, string] => p[1] !== undefined && p[1] !== null && p[1] !== "");
    const w = Math.max(...shown.map(([k]) => k.length));
    for (const [k, v] of shown) this.line(`${this.c.dim(k.padEnd(w))}  ${v}`);
  }

  spinner(text: string): Spinner {
    return new Spinner(this.errOut, this.interactive && !!this.errOut.isTTY, text);
  }
}

const pad = (s: string, w: number) => s + " ".repeat(Math.max(0, w - visibleLength(s)));

/** Cuts plain text to `max` visible characters (coloured cells are short labels and left whole). */
export function truncate(s: string, max: number): string {
  if (visibleLength(s) !== s.length || s.length <= max) return s;
  return `${s.slice(0, Math.max(1, max - 1))}…`;
}

export const oneLine = (s: string) => s.replace(/\s+/g, " ").trim();

/** A spinner on stderr; a no-op when not on a terminal (pipes and CI see no escape codes). */
export class Spinner {
  private frame = 0;
  private timer: NodeJS.Timeout | undefined;
  constructor(
    private readonly stream: NodeJS.WriteStream,
    enabled: boolean,
    private text: string,
  ) {
    if (enabled) this.timer = setInterval(() => this.render(), 80);
  }
  private render() {
    const frames = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏";
    this.stream.write(`\r\x1b[K${frames[this.frame++ % frames.length]} ${this.text}`);
  }
  update(text: string): void {
    this.text = text;
  }
  /** Clears the spinner line so the next output starts at column 0. */
  stop(): void {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.stream.write("\r\x1b[K");
  }
}

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ["year", 365 * 86_400_000],
  ["month", 30 * 86_400_000],
  ["day", 86_400_000],
  ["hour", 3_600_000],
  ["minute", 60_000],
  ["second", 1000],
];
let rtf: Intl.RelativeTimeFormat | undefined;

/** "in 3 days", "5 minutes ago", "now". */
export function relativeTime(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return "—";
  const diff = Date.parse(iso) - now;
  if (Math.abs(diff) < 5000) return "now";
  for (const [unit, ms] of UNITS)
    if (Math.abs(diff) >= ms || unit === "second") return (rtf ??= new Intl.RelativeTimeFormat("en", { numeric: "auto" })).format(Math.round(diff / ms), unit);
  return iso;
}

/** 1234 → "1.2s", 61000 → "1m01s". */
export function duration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const m = Math.floor(ms / 60_000);
  return `${m}m${String(Math.round((ms % 60_000) / 1000)).padStart(2, "0")}s`;
}
