/** `async-agent goal trigger enable|rotate|disable|show <id>`: a goal's inbound webhook trigger. */
import type { Command } from "commander";
import type { InboundTrigger, InboundTriggerWithSecret } from "../../../worker/api/schemas";
import { contextFor, type Ctx, examples } from "../context";
import { ApiError } from "../errors";
import { hint } from "../invocation";
import { relativeTime } from "../output";

function triggerFields(p: Ctx["p"], t: InboundTrigger): void {
  p.fields([
    ["enabled", t.enabled ? p.c.green("yes") : "no"],
    ["url", t.url],
    ["enabled at", t.enabledAt ? `${t.enabledAt} (${relativeTime(t.enabledAt)})` : null],
    ["secret made", t.secretCreatedAt ? relativeTime(t.secretCreatedAt) : null],
    ["last fired", t.lastFiredAt ? `${t.lastFiredAt} (${relativeTime(t.lastFiredAt)})` : "never"],
  ]);
}

/** The URL and the secret, which the API shows only in this answer. */
function printSecret(ctx: Ctx, t: InboundTriggerWithSecret, verb: string): void {
  ctx.p.result(t, () => {
    ctx.p.success(verb);
    ctx.p.fields([
      ["url", t.url],
      ["secret", t.secret],
    ]);
    ctx.p.note("The secret is shown only now: give it to the sender. Standard Webhooks senders take it as is; on GitHub, paste the whole whsec_… text.");
  });
}

/** Refuses a verb that does not fit the trigger's state, so `enable` never rotates by accident. */
async function requireState(ctx: Ctx, id: string, enabled: boolean): Promise<void> {
  const t = await ctx.client.getTrigger(id);
  if (t.enabled === enabled) return;
  const message = enabled
    ? `the trigger of goal ${id} is not enabled: ${hint(`goal trigger enable ${id}`)}`
    : `the trigger of goal ${id} is already enabled; for a new secret: ${hint(`goal trigger rotate ${id}`)}`;
  throw new ApiError(409, "conflict", message);
}

export function registerTrigger(goal: Command): void {
  const trigger = goal.command("trigger").description("start a goal from signed webhooks (Standard Webhooks or GitHub)");
  examples(trigger, ["async-agent goal trigger enable goal_01J…", "async-agent goal trigger show goal_01J…"]);

  examples(trigger.command("enable").argument("<id>", "goal id").description("enable the goal's inbound webhook: prints its URL and secret once"), [
    "async-agent goal trigger enable goal_01J…",
    "async-agent goal trigger enable goal_01J… --json | jq -r .secret",
  ]).action(async (id: string, _f: unknown, cmd: Command) => {
    const ctx = await contextFor(cmd);
    await requireState(ctx, id, false);
    printSecret(ctx, await ctx.client.enableTrigger(id), `enabled the trigger of goal ${ctx.p.c.bold(id)}`);
  });

  examples(trigger.command("rotate").argument("<id>", "goal id").description("replace the secret (the old one stops working at once; the URL stays)"), [
    "async-agent goal trigger rotate goal_01J…",
  ]).action(async (id: string, _f: unknown, cmd: Command) => {
    const ctx = await contextFor(cmd);
    await requireState(ctx, id, true);
    printSecret(ctx, await ctx.client.enableTrigger(id), `rotated the secret of goal ${ctx.p.c.bold(id)}`);
  });

  examples(trigger.command("disable").argument("<id>", "goal id").description("disable the trigger: deliveries are refused, the secret is forgotten"), [
    "async-agent goal trigger disable goal_01J…",
  ]).action(async (id: string, _f: unknown, cmd: Command) => {
    const { p, client } = await contextFor(cmd);
    await client.disableTrigger(id);
    p.result({ id, enabled: false }, () => p.success(`disabled the trigger of goal ${p.c.bold(id)}`));
  });

  examples(trigger.command("show").argument("<id>", "goal id").description("whether the trigger is enabled, its URL and when it last fired"), [
    "async-agent goal trigger show goal_01J…",
  ]).action(async (id: string, _f: unknown, cmd: Command) => {
    const { p, client } = await contextFor(cmd);
    const t = await client.getTrigger(id);
    p.result(t, () => triggerFields(p, t));
  });
}
