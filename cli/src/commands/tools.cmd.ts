/** `async-agent tools list`: the tools an agent can use on this server, and the state of each. */
import type { Command } from "commander";
import type { ToolInfo } from "../../../worker/api/schemas";
import { contextFor, examples } from "../context";
import { oneLine, type Printer } from "../output";

/** A server from before `state` answers `configured` only. */
const stateOf = (t: ToolInfo): ToolInfo["state"] => t.state ?? (t.configured ? "ready" : "not_configured");

function stateLabel(p: Printer, state: ToolInfo["state"]): string {
  if (state === "ready") return p.c.green("ready");
  if (state === "limited") return p.c.yellow("limited");
  return p.c.red("not configured");
}

export function registerTools(program: Command): void {
  const tools = program.command("tools").description("the tools agents can use");
  const list = tools
    .command("list")
    .description("list tools: ready, limited or not configured, and why")
    .addHelpText("after", "\nA tool that is not configured is hidden from agents; a limited one is offered but works in part.");
  examples(list, [
    "async-agent tools list",
    'async-agent tools list --json | jq -r \'.items[] | select(.state != "ready") | "\\(.name): \\(.reason)"\'',
  ]).action(async (_f: unknown, cmd: Command) => {
    const { p, client } = await contextFor(cmd);
    const res = await client.listTools();
    p.result(res, ({ items }) =>
      p.table(
        ["TOOL", "STATE", "DETAILS"],
        items.map((t) => {
          const state = stateOf(t);
          return [t.name, stateLabel(p, state), oneLine(state === "ready" ? t.description : (t.reason ?? ""))];
        }),
      ),
    );
  });
}
