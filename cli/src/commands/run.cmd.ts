/** `async-agent run …`: list, show, logs, watch, cancel; approve, deny, answer (run-decide.cmd.ts). */
import { type Command, Option } from "commander";
import { isTerminal, RUN_STATUSES, STEP_EVENT } from "../../../worker/domain/vocabulary";
import { contextFor, examples } from "../context";
import { oneLine, truncate } from "../output";
import { runDetail, runEnd, runTable, stepBlock, waitingBlock } from "../views";
import { watchRun } from "../watch";
import { positiveInt } from "./goal.cmd";
import { registerRunDecisions } from "./run-decide.cmd";

export function registerRun(program: Command): void {
  const run = program.command("run").description("inspect, follow, decide and cancel runs");
  examples(run, ["async-agent run list --goal goal_01J…", "async-agent run watch run_01J…", "async-agent run logs run_01J… --follow"]);

  examples(run.command("list").description("list runs, newest first"), [
    "async-agent run list --status failed --limit 5",
    "async-agent run list --goal goal_01J… --json",
    "async-agent run list --status waiting   # runs that wait for your approval or answer",
  ])
    .option("--goal <id>", "only runs of this goal")
    .addOption(new Option("--status <status>", "only runs with this status").choices(RUN_STATUSES))
    .option("--limit <n>", "how many (max 100; with --all, per request)", positiveInt, 20)
    .option("--all", "every run, following the pages")
    .action(async (f: { goal?: string; status?: string; limit: number; all?: boolean }, cmd: Command) => {
      const { p, client } = await contextFor(cmd);
      const list = (cursor?: string) => client.listRuns({ goalId: f.goal, status: f.status, limit: f.limit, cursor });
      const page = f.all ? await client.allPages(list) : await list();
      p.result(page, (pg) => {
        runTable(p, pg.items);
        if (pg.nextCursor) p.note(`showing the newest ${pg.items.length}; more with --limit`);
      });
    });

  examples(run.command("show").argument("<id>", "run id").description("show a run, its summary and outputs"), [
    "async-agent run show run_01J…",
    "async-agent run show run_01J… --json | jq .summary",
  ]).action(async (id: string, _f: unknown, cmd: Command) => {
    const { p, client } = await contextFor(cmd);
    const [r, outputs] = await Promise.all([client.getRun(id), client.listOutputs(id)]);
    p.result({ ...r, outputs: outputs.items }, (shown) => {
      runDetail(p, shown);
      if (shown.outputs.length) {
        p.line();
        p.line(p.c.bold("Outputs"));
        for (const o of shown.outputs) {
          const detail = o.path ?? (o.kind === "summary" || o.payload === null ? "" : oneLine(JSON.stringify(o.payload)));
          p.line(`  ${o.kind.padEnd(8)} ${truncate(detail, p.width - 12)}`.trimEnd());
        }
      }
    });
  });

  examples(run.command("logs").argument("<id>", "run id").description("print a run's steps: thought, tool, input, observation"), [
    "async-agent run logs run_01J…",
    "async-agent run logs run_01J… --follow",
    "async-agent run logs run_01J… --json | jq '.[].toolName'",
  ])
    .option("-f, --follow", "keep printing new steps until the run ends")
    .action(async (id: string, f: { follow?: boolean }, cmd: Command) => {
      const ctx = await contextFor(cmd);
      const { p, client } = ctx;
      const [r, steps] = await Promise.all([client.getRun(id), client.allSteps(id)]);
      if (!f.follow || isTerminal(r.status)) {
        if (p.json && !f.follow) return p.result(steps, () => undefined);
        if (p.json) {
          for (const s of steps) p.ndjson({ event: STEP_EVENT, data: s });
          return;
        }
        if (!steps.length) p.note(`run ${id} has no steps${isTerminal(r.status) ? "" : " yet"}`);
        for (const s of p.safe(steps)) stepBlock(p, s);
        // A run that ended says how, and why it failed: often before its first step (model, budget).
        if (isTerminal(r.status)) runEnd(p, p.safe(r));
        else if (r.waitingFor) waitingBlock(p, p.safe(r));
        else p.note(`run ${id} is ${r.status}: follow it with --follow`);
        return;
      }
      if (p.json) for (const s of steps) p.ndjson({ event: STEP_EVENT, data: s });
      else for (const s of p.safe(steps)) stepBlock(p, s);
      await watchRun(ctx, id, { after: steps.at(-1)?.stepNo ?? 0, detail: true });
    });

  examples(run.command("watch").argument("<id>", "run id").description("follow a run live: each step as it finishes, then the summary"), [
    "async-agent run watch run_01J…",
    "async-agent run watch run_01J… --json  # one JSON event per line",
  ])
    .addHelpText(
      "after",
      "\nA run that waits for you shows the call (or the question) and the command that decides; the watch goes on.\nExit code: 0 when the run completes, 1 when it fails or is cancelled, 130 on Ctrl-C (the run goes on).\n",
    )
    .action(async (id: string, _f: unknown, cmd: Command) => watchRun(await contextFor(cmd), id));

  examples(run.command("cancel").argument("<id>", "run id").description("ask a pending, running or waiting run to stop"), [
    "async-agent run cancel run_01J…",
  ]).action(async (id: string, _f: unknown, cmd: Command) => {
    const { p, client } = await contextFor(cmd);
    const r = await client.cancelRun(id);
    p.result(r, () => p.success(`cancellation requested for run ${p.c.bold(r.id)} (${r.status})`));
  });

  registerRunDecisions(run);
}
