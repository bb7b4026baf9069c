/**
 * async-agent: the command line for persistent background agents. This file wires the commands
 * and turns every failure into one line on stderr and an exit code (0 ok, 1 API/network, 2 usage).
 */
import { Command, CommanderError } from "commander";
import { registerCompletion } from "./commands/completion.cmd";
import { registerConfig } from "./commands/config.cmd";
import { registerFiles } from "./commands/files.cmd";
import { registerGoal } from "./commands/goal.cmd";
import { registerInit } from "./commands/init.cmd";
import { registerMcp } from "./commands/mcp.cmd";
import { registerRun } from "./commands/run.cmd";
import { registerServer } from "./commands/server.cmd";
import { registerTools } from "./commands/tools.cmd";
import { registerUsage } from "./commands/usage.cmd";
import { ApiError, EXIT, exitCodeOf, NetworkError, SilentExit, UsageError } from "./errors";
import { typed } from "./invocation";
import { Printer } from "./output";
import { closePrompts } from "./prompt";
import { VERSION } from "./version";

const program = new Command("async-agent")
  .description("Persistent background AI agents that pursue goals on a schedule.")
  .version(VERSION, "-v, --version")
  .option("--url <url>", "Worker URL (env ASYNC_AGENT_URL, default from `init`)")
  .option("--token <token>", "API token (env ASYNC_AGENT_TOKEN, default from `init`)")
  .option("--json", "print only machine-readable JSON on stdout")
  .showHelpAfterError("(add --help for usage)")
  .exitOverride()
  .addHelpText(
    "after",
    () => `
Examples:
${[
  "async-agent init --url http://127.0.0.1:8787 --token dev-token-change-me",
  'async-agent goal create --objective "Collect top AI news, summarize by category, and email me" --schedule "0 16 * * 5" --webhook "https://hooks.example.com/notify"',
  "async-agent goal run <goal-id> --watch",
  "async-agent files get <goal-id> reports/latest.md -o latest.md",
  "async-agent run list --status failed --json",
]
  .map((l) => `  $ ${typed(l)}`)
  .join("\n")}

--webhook takes your own endpoint (hooks.example.com stands for it).
Exit codes: 0 ok, 1 API or network error, 2 usage error.`,
  );

registerInit(program);
registerConfig(program);
registerGoal(program);
registerRun(program);
registerFiles(program);
registerTools(program);
registerMcp(program);
registerUsage(program);
registerServer(program);
registerCompletion(program);

function handleError(err: unknown): number {
  if (err instanceof CommanderError) {
    // Commander has printed the message already; --help and --version are successes.
    if (err.code === "commander.helpDisplayed" || err.code === "commander.version") return EXIT.ok;
    return EXIT.usage;
  }
  if (err instanceof SilentExit) return err.exitCode;
  const p = new Printer(false);
  if (err instanceof ApiError) {
    const ref = err.status >= 500 && err.requestId ? ` (request ${err.requestId})` : "";
    p.error(`${err.message}${ref}`);
  } else if (err instanceof UsageError || err instanceof NetworkError) p.error(err.message);
  else p.error(err instanceof Error ? (process.env.DEBUG ? (err.stack ?? err.message) : err.message) : String(err));
  return exitCodeOf(err);
}

// `async-agent run logs <id> | head`: the reader left, which is not an error worth a stack trace.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(EXIT.ok);
  throw err;
});

try {
  await program.parseAsync(process.argv);
} catch (err) {
  process.exitCode = handleError(err);
} finally {
  closePrompts();
}
