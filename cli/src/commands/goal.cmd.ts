/** `async-agent goal …`: create, list, show, update, delete, pause, resume, run. */
import { type Command, InvalidArgumentError, Option } from "commander";
import { readFile } from "node:fs/promises";
import type { CreateGoal, UpdateGoal } from "../../../worker/api/schemas";
import type { GoalParams } from "../../../worker/domain/schemas";
import { GOAL_STATUSES, OVERLAP_POLICIES, type Overlap, RUN_INPUT_MAX_BYTES } from "../../../worker/domain/vocabulary";
import { contextFor, examples, loadValidation } from "../context";
import { UsageError } from "../errors";
import { hint } from "../invocation";
import { ask, confirm } from "../prompt";
import { fireTimes, goalDetail, goalTable, runTable } from "../views";
import { registerTrigger } from "./trigger.cmd";
import { watchRun } from "../watch";

type GoalFlags = {
  objective?: string;
  schedule?: string | false;
  timezone?: string;
  webhook?: string | false;
  stepBudget?: number;
  monthlyBudget?: number;
  monthlyTokens?: number;
  tools?: string[];
  mcp?: string[];
  model?: string;
  overlap?: Overlap;
  emailTo?: string[];
  allowDomains?: string[];
  denyDomains?: string[];
  requireApproval?: string[];
  approvalTimeout?: number;
};
/** The flags that set params (an empty list counts: it clears). */
const PARAM_FLAGS = [
  "stepBudget",
  "monthlyBudget",
  "monthlyTokens",
  "tools",
  "mcp",
  "model",
  "overlap",
  "emailTo",
  "allowDomains",
  "denyDomains",
  "requireApproval",
  "approvalTimeout",
] as const;
const paramFlagsGiven = (f: GoalFlags) => PARAM_FLAGS.some((k) => f[k] !== undefined);

export const positiveInt = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("expected a positive integer");
  return n;
};
const dollars = (v: string) => {
  const n = Number(v.replace(/^\$/, ""));
  if (!(n > 0)) throw new InvalidArgumentError("expected an amount of US dollars, e.g. 5 or 0.50");
  return n;
};
const list = (v: string) =>
  v
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
const localZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

function goalOptions(cmd: Command): Command {
  return cmd
    .option("--objective <text>", "what the agent should achieve")
    .option("--schedule <cron>", 'five-field cron, e.g. "0 16 * * 5" (Fridays 16:00)')
    .option("--timezone <tz>", "IANA zone of the schedule (default: this machine's zone)")
    .option("--webhook <url>", "your own http(s) endpoint, notified when a run ends (e.g. https://hooks.example.com/notify)")
    .option("--step-budget <n>", "max agent steps per run", positiveInt)
    .option("--monthly-budget <usd>", "USD the goal may spend per calendar month (its zone); then its runs are skipped", dollars)
    .option("--monthly-tokens <n>", "tokens the goal may use per calendar month", positiveInt)
    .option("--tools <names>", "comma-separated tools the agent may use (default: all configured); docs__* = every tool of MCP server docs", list)
    .option("--mcp <names>", "comma-separated registered MCP servers whose tools the agent gets (async-agent mcp list)", list)
    .option("--model <model>", "LLM model override")
    .addOption(new Option("--overlap <policy>", "when a fire time comes during a run").choices(OVERLAP_POLICIES))
    .option("--email-to <list>", "comma-separated addresses (or @domain) the agent may email; replaces EMAIL_ALLOWED_RECIPIENTS", list)
    .option("--allow-domains <list>", "comma-separated domains the agent may reach, and no others (*.example.com: subdomains only)", list)
    .option("--deny-domains <list>", "comma-separated domains the agent never reaches", list)
    .option("--require-approval <tools>", "comma-separated tools whose calls wait for your yes (async-agent run approve); docs__* for an MCP server's", list)
    .option("--approval-timeout <seconds>", "how long a call waits for your yes or answer, then counts as denied (default 86400, max 604800)", positiveInt);
}

function paramsFrom(f: GoalFlags, base: GoalParams = {}): GoalParams {
  const params: GoalParams = { ...base };
  if (f.stepBudget !== undefined) params.stepBudget = f.stepBudget;
  if (f.monthlyBudget !== undefined) params.monthlyBudgetUsd = f.monthlyBudget;
  if (f.monthlyTokens !== undefined) params.monthlyTokenBudget = f.monthlyTokens;
  if (f.model) params.model = f.model;
  if (f.overlap) params.overlap = f.overlap;
  if (f.approvalTimeout !== undefined) params.approvalTimeoutSeconds = f.approvalTimeout;
  // A list flag replaces the list; an empty one ("") removes it (all tools; EMAIL_ALLOWED_RECIPIENTS; no domain rule).
  const lists = [
    ["allowedTools", f.tools],
    ["mcpServers", f.mcp],
    ["emailRecipients", f.emailTo],
    ["allowedDomains", f.allowDomains],
    ["deniedDomains", f.denyDomains],
    ["requireApproval", f.requireApproval],
  ] as const;
  for (const [key, value] of lists) {
    if (value?.length) params[key] = value;
    else if (value) delete params[key];
  }
  return params;
}

/** Validates with the API's own schema, so a bad cron or URL is a usage error before any request. */
async function validated<T>(schema: "CreateGoal" | "UpdateGoal", body: unknown): Promise<T> {
  const parsed = (await loadValidation())[schema].safeParse(body);
  if (parsed.success) return parsed.data as T;
  const fieldName: Record<string, string> = {
    "schedule.cron": "--schedule",
    "schedule.timezone": "--timezone",
    webhookUrl: "--webhook",
    "params.stepBudget": "--step-budget",
    "params.monthlyBudgetUsd": "--monthly-budget",
    "params.monthlyTokenBudget": "--monthly-tokens",
    "params.model": "--model",
    "params.approvalTimeoutSeconds": "--approval-timeout",
  };
  const listFlag: Record<string, string> = {
    allowedTools: "--tools",
    mcpServers: "--mcp",
    emailRecipients: "--email-to",
    allowedDomains: "--allow-domains",
    deniedDomains: "--deny-domains",
    requireApproval: "--require-approval",
  };
  const msg = parsed.error.issues
    .map((i) => {
      const path = i.path.map(String).join(".");
      // A list item names itself: `--email-to "bob": expected an address ...`.
      const list = i.path[0] === "params" ? listFlag[String(i.path[1])] : undefined;
      const item = list && typeof i.path[2] === "number" ? ` "${(body as { params: Record<string, string[]> }).params[String(i.path[1])][i.path[2]]}"` : "";
      return `${fieldName[path] ?? (list ? `${list}${item}` : path || "input")}: ${i.message}`;
    })
    .join("; ");
  throw new UsageError(msg);
}

/**
 * A run's input from `--input` or `--input-file` (`-`: stdin): text that starts with "{" must be a JSON
 * object (sent as one); any other text is sent as text.
 */
async function runInputOf(f: { input?: string; inputFile?: string }): Promise<string | Record<string, unknown> | undefined> {
  if (f.input !== undefined && f.inputFile !== undefined) throw new UsageError("give --input or --input-file, not both");
  const flag = f.input !== undefined ? "--input" : "--input-file";
  let text = f.input;
  if (f.inputFile !== undefined) {
    try {
      text = f.inputFile === "-" ? await readStdin() : await readFile(f.inputFile, "utf8");
    } catch (e) {
      throw new UsageError(`--input-file: cannot read ${f.inputFile}: ${(e as Error).message}`);
    }
  }
  if (text === undefined) return undefined;
  if (Buffer.byteLength(text) > RUN_INPUT_MAX_BYTES) throw new UsageError(`${flag}: the input is over ${RUN_INPUT_MAX_BYTES / 1024} KB`);
  if (!text.trimStart().startsWith("{")) return text;
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new UsageError(`${flag}: starts with "{" but is not valid JSON (${(e as Error).message})`);
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

async function previewFires(cron: string, timezone: string) {
  const { nextFireTimes, formatLocal } = await loadValidation();
  return nextFireTimes(cron, timezone, new Date(), 3).map((d) => ({ utc: d.toISOString(), local: formatLocal(d, timezone) }));
}

export function registerGoal(program: Command): void {
  const goal = program.command("goal").description("create and manage goals");
  examples(goal, [
    'async-agent goal create --objective "Collect top AI news" --schedule "0 16 * * 5"',
    "async-agent goal list",
    "async-agent goal run <id> --watch",
  ]);

  examples(
    goalOptions(
      goal.command("create").argument("[objective]", "what the agent should achieve").description("create a goal (prompts for what is missing on a terminal)"),
    ),
    [
      'async-agent goal create --objective "Collect top AI news, summarize by category, and email me" --schedule "0 16 * * 5" --webhook "https://hooks.example.com/notify"',
      'async-agent goal create "Check the status page of example.com" --schedule "*/30 * * * *" --timezone Europe/Berlin --step-budget 5',
      'async-agent goal create "Summarize my inbox" --json | jq -r .id',
    ],
  ).action(async (objectiveArg: string | undefined, f: GoalFlags, cmd: Command) => {
    const ctx = await contextFor(cmd);
    const { p } = ctx;
    let objective = f.objective ?? objectiveArg;
    let cron = typeof f.schedule === "string" ? f.schedule : undefined;
    if (!objective && p.interactive) {
      objective = await ask("Objective");
      if (f.schedule === undefined) cron = (await ask("Schedule (five-field cron, empty to run only on demand)")) || undefined;
    }
    if (!objective) throw new UsageError(`an objective is required: ${hint('goal create --objective "…"')}`);
    if (f.timezone && !cron) throw new UsageError("--timezone needs a schedule: add --schedule <cron>");
    const timezone = f.timezone ?? localZone();
    const body = await validated<CreateGoal>("CreateGoal", {
      objective,
      schedule: cron ? { cron, timezone } : undefined,
      webhookUrl: typeof f.webhook === "string" ? f.webhook : undefined,
      params: Object.keys(paramsFrom(f)).length ? paramsFrom(f) : undefined,
    });
    if (cron && !p.json) fireTimes(p, await previewFires(cron, timezone));
    const created = await ctx.client.createGoal(body);
    p.result(created, (g) => {
      p.success(`created goal ${p.c.bold(g.id)}`);
      p.line(p.c.dim(`run it now: ${hint(`goal run ${g.id} --watch`)}`));
    });
  });

  examples(goal.command("list").description("list goals, newest first"), [
    "async-agent goal list --status active",
    "async-agent goal list --all --json | jq -r '.items[].id'",
  ])
    .addOption(new Option("--status <status>", "only goals with this status").choices(GOAL_STATUSES))
    .option("--limit <n>", "how many (max 100; with --all, per request)", positiveInt, 20)
    .option("--all", "every goal, following the pages")
    .action(async (f: { status?: string; limit: number; all?: boolean }, cmd: Command) => {
      const { p, client } = await contextFor(cmd);
      const list = (cursor?: string) => client.listGoals({ status: f.status, limit: f.limit, cursor });
      const page = f.all ? await client.allPages(list) : await list();
      p.result(page, (pg) => {
        goalTable(p, pg.items);
        if (pg.nextCursor) p.note(`showing the first ${pg.items.length}; more with --limit`);
      });
    });

  examples(goal.command("show").argument("<id>", "goal id").description("show a goal and its next fire times"), ["async-agent goal show goal_01J… --runs"])
    .option("--runs", "also list its recent runs")
    .action(async (id: string, f: { runs?: boolean }, cmd: Command) => {
      const { p, client } = await contextFor(cmd);
      const g = await client.getGoal(id);
      const runs = f.runs ? (await client.listRuns({ goalId: id, limit: 10 })).items : undefined;
      p.result({ ...g, ...(runs ? { runs } : {}) }, (shown) => {
        goalDetail(p, shown);
        if (shown.runs) {
          p.line();
          runTable(p, shown.runs);
        }
      });
    });

  examples(
    goalOptions(goal.command("update").argument("<id>", "goal id").description("change a goal (only the flags given)"))
      .option("--no-schedule", "remove the schedule (runs only on demand)")
      .option("--no-webhook", "remove the webhook")
      .addHelpText(
        "after",
        '\nAn empty list clears it: --email-to "" (back to EMAIL_ALLOWED_RECIPIENTS), --allow-domains "", --deny-domains "", --tools "" (all), --require-approval "" (none).',
      ),
    [
      'async-agent goal update goal_01J… --schedule "0 9 * * 1-5" --timezone America/New_York',
      "async-agent goal update goal_01J… --no-schedule",
      "async-agent goal update goal_01J… --email-to me@example.org,@team.example.org --deny-domains ads.example.net",
      'async-agent goal update goal_01J… --allow-domains ""   # remove the allow-list',
      "async-agent goal update goal_01J… --require-approval send_email,send_webhook --approval-timeout 3600",
    ],
  ).action(async (id: string, f: GoalFlags, cmd: Command) => {
    const { p, client } = await contextFor(cmd);
    const needsCurrent = f.timezone !== undefined || paramFlagsGiven(f);
    const current = needsCurrent ? await client.getGoal(id) : undefined;
    const patch: Record<string, unknown> = {};
    if (f.objective) patch.objective = f.objective;
    if (f.schedule === false) patch.schedule = null;
    else if (f.schedule || f.timezone) {
      const cron = f.schedule || current?.schedule?.cron;
      if (!cron) throw new UsageError("--timezone needs a schedule: add --schedule <cron>");
      patch.schedule = { cron, timezone: f.timezone ?? current?.schedule?.timezone ?? localZone() };
    }
    if (f.webhook === false) patch.webhookUrl = null;
    else if (f.webhook) patch.webhookUrl = f.webhook;
    // The API replaces params as a whole: merge the flags into what the goal has.
    if (current && paramFlagsGiven(f)) patch.params = paramsFrom(f, current.params);
    if (!Object.keys(patch).length) throw new UsageError("nothing to update: pass at least one flag (see --help)");
    const updated = await client.updateGoal(id, await validated<UpdateGoal>("UpdateGoal", patch));
    p.result(updated, (g) => {
      p.success(`updated goal ${p.c.bold(g.id)}`);
      goalDetail(p, g);
    });
  });

  examples(goal.command("delete").argument("<id>", "goal id").description("delete a goal with its runs, outputs, memories and files"), [
    "async-agent goal delete goal_01J… --yes",
  ])
    .option("-y, --yes", "do not ask for confirmation")
    .action(async (id: string, f: { yes?: boolean }, cmd: Command) => {
      const { p, client } = await contextFor(cmd);
      if (!f.yes) {
        if (!p.interactive) throw new UsageError("refusing to delete without confirmation: add --yes");
        const g = await client.getGoal(id);
        if (!(await confirm(`Delete goal ${g.id} ("${g.objective.slice(0, 60)}") and all its runs?`))) return p.note("kept the goal");
      }
      await client.deleteGoal(id);
      p.result({ id, deleted: true }, () => p.success(`deleted goal ${id}`));
    });

  for (const [verb, help] of [
    ["pause", "stop a goal from firing"],
    ["resume", "let a paused goal fire again (next fire time from now)"],
  ] as const) {
    examples(goal.command(verb).argument("<id>", "goal id").description(help), [`async-agent goal ${verb} goal_01J…`]).action(
      async (id: string, _f: unknown, cmd: Command) => {
        const { p, client } = await contextFor(cmd);
        const g = verb === "pause" ? await client.pauseGoal(id) : await client.resumeGoal(id);
        p.result(g, () => {
          p.success(`${verb === "pause" ? "paused" : "resumed"} goal ${p.c.bold(g.id)}`);
          if (verb === "resume") fireTimes(p, g.nextFireTimes);
        });
      },
    );
  }

  examples(goal.command("run").argument("<id>", "goal id").description("run a goal now"), [
    "async-agent goal run goal_01J… --watch",
    'async-agent goal run goal_01J… --input \'{"company": "Example Corp", "site": "https://example.com"}\'',
    "gh issue view 7 --json title,body | async-agent goal run goal_01J… --input-file -",
  ])
    .option("-w, --watch", "follow the run live until it ends")
    .option("--input <text>", "data for this run: text, or a JSON object (the agent reads it as data, not instructions; max 64 KB)")
    .option("--input-file <path>", "read the input from a file (- for stdin)")
    .action(async (id: string, f: { watch?: boolean; input?: string; inputFile?: string }, cmd: Command) => {
      const ctx = await contextFor(cmd);
      const input = await runInputOf(f);
      const run = await ctx.client.runGoal(id, input === undefined ? undefined : { input });
      if (f.watch) return watchRun(ctx, run.id);
      ctx.p.result(run, (r) => {
        ctx.p.success(`started run ${ctx.p.c.bold(r.id)} (${r.status})`);
        ctx.p.line(ctx.p.c.dim(`watch it: ${hint(`run watch ${r.id}`)}`));
      });
    });

  registerTrigger(goal);
}
