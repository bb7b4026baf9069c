/** Global setup of the e2e suite: a directory for the scenarios' rows, and the table printed at the very end. */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { formatTable, type Row } from "./report.ts";

export default function setup(project: TestProject) {
  const dir = mkdtempSync(join(tmpdir(), "async-agent-e2e-report-"));
  project.provide("e2eReportDir", dir);
  return () => {
    const rows = readdirSync(dir).map((f) => JSON.parse(readFileSync(join(dir, f), "utf8")) as Row);
    rmSync(dir, { recursive: true, force: true });
    console.log(`\nEnd-to-end proof (wrangler dev on 127.0.0.1, fake LLM and tools)\n${formatTable(rows)}\n`);
  };
}
