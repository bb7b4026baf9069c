/** `async-agent tools list`: the tools an agent can use on this server, and which are configured. */
import type { Command } from "commander";
import { contextFor, examples } from "../context";
import { oneLine } from "../output";

export function registerTools(program: Command): void {
  const tools = program.command("tools").description("the tools agents can use");
  examples(tools.command("list").description("list tools and whether each is configured"), ["async-agent tools list", "async-agent tools list --json | jq -r '.items[] | select(.configured) | .name'"])
    .action(async (_f: unknown, cmd: Command) => {
      const { p, client } = await contextFor(cmd);
      const res = await client.listTools();
      p.result(res, ({ items }) =>
        p.table(
          ["TOOL", "READY", "DESCRIPTION"],
          items.map((t) => [t.name, t.configured ? p.c.green("yes") : p.c.yellow("no"), oneLine(t.configured ? t.description : `${t.reason ?? "not configured"}`)]),
        ),
      );
    });
}
