/**
 * D1 schema (drizzle). Timestamps are integer epoch milliseconds; the API renders them as ISO 8601 UTC.
 * IDs are time-ordered and unguessable (see lib/ids.ts), so `ORDER BY id DESC` is creation order and
 * cursor pagination needs no second column.
 */
import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import type { GoalParams } from "../domain/schemas";
import { sqlList } from "./sql";
import {
  ACTIVE_RUN_STATUSES,
  GOAL_STATUSES,
  MCP_SERVER_STATES,
  OUTPUT_KINDS,
  type PLAN_ITEM_STATUSES,
  RUN_STATUSES,
  TRIGGERS,
  WAIT_KINDS,
  WAIT_OUTCOMES,
} from "../domain/vocabulary";

const now = sql`(unixepoch('subsec') * 1000)`;

export const goals = sqliteTable(
  "goals",
  {
    id: text("id").primaryKey(),
    objective: text("objective").notNull(),
    status: text("status", { enum: GOAL_STATUSES }).notNull().default("active"),
    cron: text("cron"),
    timezone: text("timezone").notNull().default("UTC"),
    nextRunAt: integer("next_run_at"),
    webhookUrl: text("webhook_url"),
    params: text("params", { mode: "json" }).$type<GoalParams>().notNull().default(sql`'{}'`),
    createdAt: integer("created_at").notNull().default(now),
    updatedAt: integer("updated_at").notNull().default(now),
  },
  (t) => [
    index("goals_status_id").on(t.status, t.id),
    // The scheduler's due-goals query: only active goals with a schedule are in this index.
    index("goals_due").on(t.nextRunAt).where(sql`status = 'active' AND next_run_at IS NOT NULL`),
  ],
);

export const runs = sqliteTable(
  "runs",
  {
    id: text("id").primaryKey(),
    goalId: text("goal_id")
      .notNull()
      .references(() => goals.id, { onDelete: "cascade" }),
    status: text("status", { enum: RUN_STATUSES }).notNull().default("pending"),
    trigger: text("trigger", { enum: TRIGGERS }).notNull(),
    scheduledFor: integer("scheduled_for"),
    startedAt: integer("started_at"),
    endedAt: integer("ended_at"),
    /** Set by the agent while it works on the run; the reaper looks for runs whose heartbeat went quiet. */
    heartbeatAt: integer("heartbeat_at"),
    /** Set by POST /runs/:id/cancel; the loop stops at its next safe point, even after a restart. */
    cancelRequestedAt: integer("cancel_requested_at"),
    /**
     * The run's end notification (see db/notifications.ts): `notifyClaimedAt` is set while a caller
     * delivers it (a claim older than the lease is taken over); `notifiedAt` once it is settled (delivered,
     * given up on, or nothing to send), after which nobody sends it again.
     */
    notifyClaimedAt: integer("notify_claimed_at"),
    notifiedAt: integer("notified_at"),
    stepsExecuted: integer("steps_executed").notNull().default(0),
    stepBudget: integer("step_budget").notNull(),
    promptTokens: integer("prompt_tokens").notNull().default(0),
    completionTokens: integer("completion_tokens").notNull().default(0),
    /** Of the prompt tokens, those the provider served from its cache (billed cheaper where it says so). */
    cachedTokens: integer("cached_tokens").notNull().default(0),
    /** Of the completion tokens, those spent on reasoning (already counted in completion_tokens). */
    reasoningTokens: integer("reasoning_tokens").notNull().default(0),
    /**
     * What the run's model calls cost, in nano-USD (1e-9 $: integers add up exactly, floats do not);
     * NULL when the model has no known price (llm/prices.ts). The API shows it as `costUsd`.
     */
    costNanos: integer("cost_nanos").default(0),
    /** The model the run called (what `GET /usage?groupBy=model` groups by). */
    model: text("model"),
    summary: text("summary"),
    error: text("error"),
    endReason: text("end_reason"),
    skippedCount: integer("skipped_count").notNull().default(0),
    /**
     * What the run was started with, as JSON (a string or an object from `POST /goals/:id/run`, or a
     * webhook delivery's body): data from outside, shown to the model as untrusted (agent/prompt.ts).
     */
    input: text("input", { mode: "json" }).$type<unknown>(),
    /** A webhook-triggered run: the delivery's id (unique per goal: a redelivery starts nothing) and event name. */
    deliveryId: text("delivery_id"),
    deliveryEvent: text("delivery_event"),
    /** How many times the run was put on the RUNS queue (dispatch = 1, each reaper re-enqueue adds one). */
    attempts: integer("attempts").notNull().default(0),
    /** The run's latest plan (the `update_plan` tool): what `GET /runs/:id` shows as `plan`. */
    plan: text("plan", { mode: "json" }).$type<RunPlan>(),
    createdAt: integer("created_at").notNull().default(now),
    updatedAt: integer("updated_at").notNull().default(now),
  },
  (t) => [
    // The scheduler's overlap check and the reaper look only at unfinished runs: a small partial index.
    index("runs_active")
      .on(t.goalId, t.status)
      .where(sql.raw(`status IN (${sqlList(ACTIVE_RUN_STATUSES)})`)),
    // One run per (goal, fire time): a duplicate cron tick or queue delivery cannot create a second one.
    // Manual runs have scheduled_for NULL, and SQLite treats NULLs as distinct.
    uniqueIndex("runs_goal_scheduled").on(t.goalId, t.scheduledFor),
    // One run per (goal, webhook delivery id): the exactly-once of inbound webhooks. NULLs never collide.
    uniqueIndex("runs_goal_delivery").on(t.goalId, t.deliveryId),
    index("runs_goal_id").on(t.goalId, t.id),
    index("runs_status_id").on(t.status, t.id),
    // GET /usage reads runs by start time.
    index("runs_started_at").on(t.startedAt),
  ],
);

/** The run's plan as the model last set it (tools/update-plan.tool.ts). */
export type RunPlan = { items: { title: string; status: (typeof PLAN_ITEM_STATUSES)[number] }[]; note?: string; updatedAt: number };

/**
 * What a run waits for, one row per tool call that needs a person (an approval, or an `ask_user`
 * question), and how it was settled. The id is derived from the run and the step number, so a run
 * resumed after a crash asks for the same call again without a second row. `outcome` is written once,
 * by a conditional UPDATE: of two concurrent decisions exactly one wins.
 */
export const waits = sqliteTable(
  "waits",
  {
    id: text("id").primaryKey(),
    runId: text("run_id")
      .notNull()
      .references(() => runs.id, { onDelete: "cascade" }),
    stepNo: integer("step_no").notNull(),
    kind: text("kind", { enum: WAIT_KINDS }).notNull(),
    /** The call waiting for approval (its tool and validated input), or the question and its choices. */
    tool: text("tool"),
    input: text("input", { mode: "json" }).$type<unknown>(),
    question: text("question"),
    choices: text("choices", { mode: "json" }).$type<string[]>(),
    askedAt: integer("asked_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    outcome: text("outcome", { enum: WAIT_OUTCOMES }),
    /** The person's note (approval) or answer (question). */
    response: text("response"),
    /** How it was decided: `api`, `link` (one-click) or `expiry`. */
    decidedVia: text("decided_via"),
    decidedAt: integer("decided_at"),
    /** Set by the one sender of the run.waiting webhook and email (at most once per wait). */
    noticeAt: integer("notice_at"),
  },
  (t) => [
    index("waits_run").on(t.runId, t.stepNo),
    // The scheduler's tick looks for undecided waits past their expiry.
    index("waits_open_expiry").on(t.expiresAt).where(sql`outcome IS NULL`),
  ],
);
export type WaitRow = typeof waits.$inferSelect;

export const steps = sqliteTable(
  "steps",
  {
    runId: text("run_id")
      .notNull()
      .references(() => runs.id, { onDelete: "cascade" }),
    stepNo: integer("step_no").notNull(),
    thought: text("thought"),
    toolName: text("tool_name"),
    toolInput: text("tool_input", { mode: "json" }).$type<unknown>(),
    observation: text("observation"),
    durationMs: integer("duration_ms").notNull().default(0),
    promptTokens: integer("prompt_tokens").notNull().default(0),
    completionTokens: integer("completion_tokens").notNull().default(0),
    cachedTokens: integer("cached_tokens").notNull().default(0),
    reasoningTokens: integer("reasoning_tokens").notNull().default(0),
    /** The cost of the model call that produced this step, nano-USD; NULL when the step called no model or its price is unknown. */
    costNanos: integer("cost_nanos"),
    error: text("error"),
    createdAt: integer("created_at").notNull().default(now),
  },
  (t) => [primaryKey({ columns: [t.runId, t.stepNo] })],
);

export const outputs = sqliteTable(
  "outputs",
  {
    id: text("id").primaryKey(),
    runId: text("run_id")
      .notNull()
      .references(() => runs.id, { onDelete: "cascade" }),
    kind: text("kind", { enum: OUTPUT_KINDS }).notNull(),
    path: text("path"),
    payload: text("payload", { mode: "json" }).$type<unknown>(),
    createdAt: integer("created_at").notNull().default(now),
  },
  (t) => [index("outputs_run_id").on(t.runId, t.id)],
);

export const memories = sqliteTable(
  "memories",
  {
    id: text("id").primaryKey(),
    goalId: text("goal_id")
      .notNull()
      .references(() => goals.id, { onDelete: "cascade" }),
    runId: text("run_id"),
    type: text("type").notNull().default("note"),
    content: text("content").notNull(),
    metadata: text("metadata", { mode: "json" }).$type<Record<string, unknown>>(),
    createdAt: integer("created_at").notNull().default(now),
  },
  (t) => [index("memories_goal_id").on(t.goalId, t.id)],
);

/**
 * A goal's inbound webhook trigger (api/routes/hooks.ts): deliveries to /hooks/<hookId> signed with
 * `secret` start a run. `secret` is NULL while the trigger is disabled (the row keeps the URL and the
 * last fire time).
 *
 * The secret is stored as it is, not encrypted or hashed: verifying an HMAC needs the key itself, and
 * encrypting it with a Worker secret would only guard against someone who can read D1 but not the
 * Worker's secrets, who could already read and change every goal (a far larger power than starting
 * one goal's run with data the agent treats as untrusted). It leaves D1 only once, in the answer that
 * creates it, and never appears in responses or logs after that.
 */
export const goalTriggers = sqliteTable("goal_triggers", {
  goalId: text("goal_id")
    .primaryKey()
    .references(() => goals.id, { onDelete: "cascade" }),
  /** The opaque id in the trigger's URL: it does not reveal the goal id. */
  hookId: text("hook_id").notNull().unique(),
  secret: text("secret"),
  enabledAt: integer("enabled_at"),
  secretCreatedAt: integer("secret_created_at"),
  lastFiredAt: integer("last_fired_at"),
  /** The rate limit's fixed window: its start (epoch ms of the minute) and the deliveries accepted in it. */
  windowStart: integer("window_start").notNull().default(0),
  windowCount: integer("window_count").notNull().default(0),
  createdAt: integer("created_at").notNull().default(now),
});

/**
 * Idempotency-Key records (api/idempotency.ts): the first request with a key claims it (status NULL while
 * it executes), then stores its answer, which a retry with the same key and body gets back for 24 h.
 * Scoped by method and path, so a key is per route and per goal or run. The cron tick prunes old rows.
 */
export const idempotencyKeys = sqliteTable(
  "idempotency_keys",
  {
    scope: text("scope").notNull(),
    key: text("key").notNull(),
    /** SHA-256 (hex) of the request body: the same key with another body is refused. */
    requestHash: text("request_hash").notNull(),
    status: integer("status"),
    response: text("response"),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.scope, t.key] }), index("idempotency_keys_created_at").on(t.createdAt)],
);

/**
 * Spending per calendar month (db/spend.ts): one row per goal and month in the goal's time zone, and
 * one with scope '*' per UTC month for the whole instance. Each turn's step write adds the run's
 * increase in cost and tokens in the same batch (one transaction), so budgets read one row, and every
 * run sees what the others spent as of its last write. `notifiedAt`: the goal's usage.budget_reached
 * event of that month was claimed (sent once).
 */
export const usageMonths = sqliteTable(
  "usage_months",
  {
    scope: text("scope").notNull(),
    /** "YYYY-MM". */
    month: text("month").notNull(),
    costNanos: integer("cost_nanos").notNull().default(0),
    tokens: integer("tokens").notNull().default(0),
    notifiedAt: integer("notified_at"),
  },
  (t) => [primaryKey({ columns: [t.scope, t.month] })],
);

/** A tool of a registered MCP server, as listed: `name` is what the model sees (`<server>__<tool>`), `tool` the server's own name. */
export type McpToolRecord = { name: string; tool: string; description: string; inputSchema: Record<string, unknown> };

/**
 * Registered MCP servers (tools/mcp-*.ts): the URL, the header values encrypted with MCP_SECRETS_KEY
 * (AES-GCM, lib/secret-box.ts; never returned by any route) beside their names in clear, and the tools of
 * the last listing that worked. `refreshedAt`: that listing; `checkedAt`: the last attempt, failed or not.
 */
export const mcpServers = sqliteTable("mcp_servers", {
  name: text("name").primaryKey(),
  url: text("url").notNull(),
  headerNames: text("header_names", { mode: "json" }).$type<string[]>().notNull().default(sql`'[]'`),
  headersSealed: text("headers_sealed"),
  status: text("status", { enum: MCP_SERVER_STATES }).notNull(),
  lastError: text("last_error"),
  tools: text("tools", { mode: "json" }).$type<McpToolRecord[]>().notNull().default(sql`'[]'`),
  serverInfo: text("server_info", { mode: "json" }).$type<{ name: string; version: string }>(),
  refreshedAt: integer("refreshed_at"),
  checkedAt: integer("checked_at").notNull(),
  createdAt: integer("created_at").notNull().default(now),
  updatedAt: integer("updated_at").notNull().default(now),
});

export type GoalRow = typeof goals.$inferSelect;
export type RunRow = typeof runs.$inferSelect;
export type StepRow = typeof steps.$inferSelect;
export type OutputRow = typeof outputs.$inferSelect;
export type MemoryRow = typeof memories.$inferSelect;
export type TriggerRow = typeof goalTriggers.$inferSelect;
export type UsageMonthRow = typeof usageMonths.$inferSelect;
export type McpServerRow = typeof mcpServers.$inferSelect;
