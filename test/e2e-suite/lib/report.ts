/**
 * The suite's reliability table: each scenario records one row (trials, passed, lost, duplicated, stuck,
 * figures) as a JSON file in the directory report-setup.ts provides; the teardown prints them all as one
 * table. A row is written whether its assertions pass or not, so a failing scenario shows its numbers.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { inject } from "vitest";

export type Row = {
  /** Scenario number and name, e.g. "2 restart mid-run". */
  scenario: string;
  trials: number;
  passed: number;
  lost?: number;
  duplicated?: number;
  stuck?: number;
  /** Free text: latencies, recovery times, what was not run and why. */
  figures?: string;
};

declare module "vitest" {
  export interface ProvidedContext {
    e2eReportDir: string;
  }
}

/** Records (or replaces) a scenario's row. */
export function record(row: Row): void {
  const file = row.scenario.replace(/[^\w]+/g, "-").toLowerCase();
  writeFileSync(join(inject("e2eReportDir"), `${file}.json`), JSON.stringify(row));
}

/** The table, in scenario order. */
export function formatTable(rows: Row[]): string {
  const head = ["scenario", "trials", "passed", "lost", "duplicated", "stuck", "figures"];
  const cell = (v: number | undefined) => (v === undefined ? "n/a" : String(v));
  const body = rows
    .sort((a, b) => a.scenario.localeCompare(b.scenario, "en", { numeric: true }))
    .map((r) => [r.scenario, cell(r.trials), cell(r.passed), cell(r.lost), cell(r.duplicated), cell(r.stuck), r.figures ?? ""]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  return [line(head), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...body.map(line)].join("\n");
}
