/** What every command needs: the printer and the API client, built from the global flags. */
import type { Command } from "commander";
import { ApiClient } from "./api-client";
import { type GlobalFlags, type Resolved, resolveConfig } from "./config";
import { typed } from "./invocation";
import { Printer } from "./output";

export type Ctx = { p: Printer; client: ApiClient; config: Resolved };

export const flagsOf = (cmd: Command) => cmd.optsWithGlobals<GlobalFlags>();

export async function contextFor(cmd: Command): Promise<Ctx> {
  const flags = flagsOf(cmd);
  const config = await resolveConfig(flags);
  return { p: new Printer(!!flags.json), client: new ApiClient(config.url, config.token), config };
}

/** Appends an "Examples:" block to a command's --help. */
export function examples(cmd: Command, lines: string[]): Command {
  // A function: the command's name as typed here (invocation.ts) is looked up only when help is shown.
  return cmd.addHelpText("after", () => `\nExamples:\n${lines.map((l) => `  $ ${typed(l)}`).join("\n")}\n`);
}

/** zod + croner are the heaviest modules: loaded only by the commands that validate input. */
export const loadValidation = () => import("./validation");
