/** `async-agent run approve | deny | answer`: a person decides what a waiting run waits for. */
import type { Command } from "commander";
import type { Run } from "../../../worker/api/schemas";
import { type Ctx, contextFor, examples } from "../context";
import { UsageError } from "../errors";
import { hint } from "../invocation";

/** The run goes on (pending until its agent resumes it): say so, and how to follow it. */
function decided(ctx: Ctx, run: Run, what: string): void {
  const { p } = ctx;
  p.result(run, (r) => {
    p.success(`${what}: run ${p.c.bold(r.id)} goes on (${r.status})`);
    p.line(p.c.dim(`follow it: ${hint(`run watch ${r.id}`)}`));
  });
}

export function registerRunDecisions(run: Command): void {
  for (const [verb, decision, help] of [
    ["approve", "approve", "let the tool call a waiting run holds run once"],
    ["deny", "deny", "refuse the tool call a waiting run holds (the agent is told, with your note)"],
  ] as const) {
    examples(run.command(verb).argument("<id>", "run id").description(help), [
      `async-agent run ${verb} run_01J…`,
      `async-agent run ${verb} run_01J… --note "${verb === "approve" ? "ok, but only to the staging hook" : "not before Monday"}"`,
    ])
      .option("--note <text>", "told to the agent with the decision")
      .addHelpText("after", "\nA run that waits for nothing, was decided already, or whose wait expired: exit 1 with the reason.\n")
      .action(async (id: string, f: { note?: string }, cmd: Command) => {
        const ctx = await contextFor(cmd);
        const r = await ctx.client.decideApproval(id, { decision, note: f.note });
        decided(ctx, r, verb === "approve" ? "approved" : "denied");
      });
  }

  examples(run.command("answer").argument("<id>", "run id").argument("<text>", "your answer").description("answer the question a waiting run asks"), [
    'async-agent run answer run_01J… "EU first, then US"',
  ]).action(async (id: string, text: string, _f: unknown, cmd: Command) => {
    if (!text.trim()) throw new UsageError("the answer must not be empty");
    const ctx = await contextFor(cmd);
    decided(ctx, await ctx.client.answerRun(id, { text }), "answered");
  });
}
