/**
 * How the user can type this CLI here, for hints and examples: `async-agent` when that name on
 * PATH is this very CLI (installed globally, or linked), else `npx async-agent` (the repo's
 * workspace, a copied file). `npx` and `npm run` put node_modules/.bin on PATH for their child
 * only, so those entries do not count when npm started us.
 */
import { realpathSync } from "node:fs";
import { delimiter, join } from "node:path";

let name: string | undefined;

function onPath(): boolean {
  const self = process.argv[1];
  if (!self) return false;
  let me: string;
  try {
    me = realpathSync(self);
  } catch {
    return false;
  }
  const fromNpm = !!process.env.npm_command;
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (!dir || (fromNpm && /node_modules[\\/]\.bin[\\/]?$/.test(dir))) continue;
    try {
      if (realpathSync(join(dir, "async-agent")) === me) return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

/** "async-agent" or "npx async-agent"; looked up once, on the first hint. */
export function cliName(): string {
  return (name ??= onPath() ? "async-agent" : "npx async-agent");
}

/** A command line to suggest: `hint("run cancel run_1")` → "async-agent run cancel run_1" (or with npx). */
export const hint = (args: string) => `${cliName()} ${args}`;

/** Rewrites a leading `async-agent ` (examples, help text) to the name that works here. */
export const typed = (line: string) => line.replace(/^async-agent(?= |$)/, cliName());
