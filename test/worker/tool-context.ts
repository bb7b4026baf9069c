/** A real ToolContext for tool tests: the test env (optionally overridden), D1, a goal made via the API, a run. */
import { env } from "cloudflare:workers";
import type { Env } from "../../worker/lib/env";
import { dbFor } from "../../worker/db/client";
import { getGoal } from "../../worker/db/goals";
import { insertRun } from "../../worker/db/runs";
import { Provenance } from "../../worker/tools/fetch-policy";
import { allTools } from "../../worker/tools/registry";
import type { Effect, ToolContext, ToolOutput } from "../../worker/tools/tool";
import { putFile } from "../../worker/tools/files.tool";
import { outputs } from "../../worker/db/schema";
import { createGoal } from "./api";

export async function toolContext(goal: Record<string, unknown> = {}, overrides: Partial<Record<keyof Env, unknown>> = {}): Promise<ToolContext> {
  const db = dbFor(env.DB);
  const created = await createGoal(goal);
  const row = (await getGoal(db, created.id))!;
  const run = await insertRun(db, { goalId: row.id, trigger: "manual", stepBudget: 10, status: "running" });
  // Tool tests exercise the fetching itself: any URL, unless the goal sets a fetchPolicy (runs test provenance).
  const provenance = new Provenance({ ...row, params: { fetchPolicy: "any", ...row.params } });
  const ctx: ToolContext = {
    env: { ...env, ...overrides } as Env,
    db,
    goal: row,
    runId: run.id,
    stepNo: 1,
    signal: new AbortController().signal,
    provenance,
    journal: (e) => void journaled.get(ctx)!.push(e),
  };
  journaled.set(ctx, []);
  return ctx;
}

/** What journaled tools handed over, written by runTool once the call returns (as the run's StepWriter does with the step). */
const journaled = new WeakMap<ToolContext, Effect[]>();

/** Validates `input` with the tool's schema (as the run loop does) and executes it. */
export async function runTool(name: string, input: unknown, ctx: ToolContext): Promise<ToolOutput> {
  const tool = allTools().find((t) => t.name === name);
  if (!tool) throw new Error(`no tool ${name}`);
  const out = await tool.execute(tool.input.parse(input), ctx);
  for (const e of journaled.get(ctx)?.splice(0) ?? []) {
    await ctx.db.insert(outputs).values(e.output);
    if (e.file) await putFile(ctx.env, e.file);
  }
  return out;
}
