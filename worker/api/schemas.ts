/**
 * Request and response shapes of the API, built from the domain's vocabulary and schemas: the API
 * validates with them, the OpenAPI document is generated from them, and the CLI imports them for its
 * types. Plain `zod` and domain/ only (no Worker imports) so the CLI can bundle this file.
 */
import { z } from "zod";
import { Cron, GoalParams, McpServerName, Schedule, TimeZone, Timestamp } from "../domain/schemas";
import {
  APPROVAL_DECISIONS,
  END_REASONS,
  GOAL_STATUSES,
  MCP_SERVER_STATES,
  OUTPUT_KINDS,
  PLAN_ITEM_STATUSES,
  PROVIDERS,
  RUN_INPUT_MAX_BYTES,
  RUN_STATUSES,
  TOOL_STATES,
  TRIGGERS,
  USAGE_GROUPS,
} from "../domain/vocabulary";

/**
 * An http(s) URL stored as its WHATWG serialisation (`new URL(x).href`): what is really requested. Control
 * characters and whitespace inside are refused, not percent-encoded: they are a paste error or an attempt to
 * smuggle something, never part of an address. Surrounding whitespace is trimmed.
 */
const HttpUrl = z
  .string()
  .trim()
  .max(2048)
  .refine((url) => !/[\p{Cc}\s]/u.test(url), "must not contain control characters or whitespace")
  .pipe(z.url({ protocol: /^https?$/, error: "expected an http(s) URL" }))
  .transform((url) => new URL(url).href)
  .pipe(z.string().max(2048))
  .meta({ format: "uri" });

const WebhookUrl = HttpUrl.describe("Receives signed run.completed / run.failed events (stored normalised, as `new URL(x).href`)");

export const CreateGoal = z
  .object({
    objective: z.string().trim().min(1, "must not be empty").max(8000),
    schedule: Schedule.optional(),
    webhookUrl: WebhookUrl.optional(),
    params: GoalParams.optional(),
  })
  .strict()
  .meta({ id: "CreateGoal" });
export type CreateGoal = z.infer<typeof CreateGoal>;

export const UpdateGoal = z
  .object({
    objective: z.string().trim().min(1, "must not be empty").max(8000).optional(),
    schedule: Schedule.nullable().optional().describe("null removes the schedule"),
    webhookUrl: WebhookUrl.nullable().optional(),
    params: GoalParams.optional().describe("Replaces the params object"),
    status: z.enum(GOAL_STATUSES).optional(),
  })
  .strict()
  .meta({ id: "UpdateGoal" });
export type UpdateGoal = z.infer<typeof UpdateGoal>;

export const FireTime = z.object({ utc: Timestamp, local: z.string() }).meta({ id: "FireTime" });

export const SchedulePreviewQuery = z.object({
  cron: Cron,
  timezone: TimeZone.default("UTC"),
  count: z.coerce.number().int().min(1).max(20).default(5).describe("How many fire times (default 5)"),
});
export const SchedulePreview = z
  .object({
    cron: z.string(),
    timezone: z.string(),
    description: z.string().describe('The schedule in words, e.g. "Fridays at 16:00" (in the zone)'),
    fireTimes: z.array(FireTime),
  })
  .meta({ id: "SchedulePreview" });
export type SchedulePreview = z.infer<typeof SchedulePreview>;

export const Goal = z
  .object({
    id: z.string(),
    objective: z.string(),
    status: z.enum(GOAL_STATUSES),
    schedule: z.object({ cron: z.string(), timezone: z.string() }).nullable(),
    nextRunAt: Timestamp.nullable(),
    nextFireTimes: z.array(FireTime).describe("The next 3 fire times in the goal's zone and in UTC (lists show only the next one)"),
    webhookUrl: z.string().nullable(),
    params: GoalParams,
    usage: z
      .object({
        month: z.string(),
        costUsd: z.number(),
        tokens: z.int(),
        lastRun: z.object({ id: z.string(), costUsd: z.number().nullable() }).nullable(),
      })
      .optional(),
    readiness: z.object({ ready: z.boolean(), reason: z.string().nullable() }).optional(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .meta({ id: "Goal" });
export type Goal = z.infer<typeof Goal>;

/** A run's input: text, or a JSON object. Anything else is a 400 naming `input`; over the size, the request is a 413. */
export const RunInput = z
  .union([z.string(), z.record(z.string(), z.unknown())], { error: "expected a string or a JSON object" })
  .describe(`Data for this run (at most ${RUN_INPUT_MAX_BYTES / 1024} KB as JSON): shown to the agent as data from outside, never as instructions`);

export const RunGoalRequest = z.object({ input: RunInput.optional() }).strict().meta({ id: "RunGoalRequest" });
export type RunGoalRequest = z.infer<typeof RunGoalRequest>;

export const Tokens = z.object({
  prompt: z.int(),
  completion: z.int(),
  cached: z.int(),
  reasoning: z.int(),
  total: z.int(),
});
const CostUsd = z.number().nullable();

export const PlanItem = z.object({ title: z.string(), status: z.enum(PLAN_ITEM_STATUSES) }).meta({ id: "PlanItem" });
export const Plan = z
  .object({ items: z.array(PlanItem), note: z.string().optional(), updatedAt: Timestamp })
  .meta({ id: "Plan" })
  .describe("The run's latest plan, as the agent keeps it with update_plan");

const waitBase = {
  id: z.string().describe("The wait's id (one per step that waits)"),
  stepNo: z.int().describe("The step the call will be recorded as"),
  askedAt: Timestamp,
  expiresAt: Timestamp.describe("When the wait ends without an answer: the call then counts as denied (`no answer before <time>`)"),
};
export const WaitingFor = z
  .discriminatedUnion("kind", [
    z.object({ kind: z.literal("approval"), ...waitBase, tool: z.string(), input: z.unknown().describe("The call's validated arguments") }),
    z.object({ kind: z.literal("question"), ...waitBase, question: z.string(), choices: z.array(z.string()).optional() }),
  ])
  .meta({ id: "WaitingFor" });

export const ApprovalDecision = z
  .object({
    decision: z.enum(APPROVAL_DECISIONS).describe("approve: the call runs once and its result goes to the model; deny: it does not run"),
    note: z.string().trim().max(2000).optional().describe("Told to the model with the decision"),
  })
  .strict()
  .meta({ id: "ApprovalDecision" });
export const Answer = z
  .object({ text: z.string().trim().min(1, "must not be empty").max(4000).describe("The answer the agent reads") })
  .strict()
  .meta({ id: "Answer" });

export const Run = z
  .object({
    id: z.string(),
    goalId: z.string(),
    status: z.enum(RUN_STATUSES),
    trigger: z.enum(TRIGGERS),
    scheduledFor: Timestamp.nullable(),
    startedAt: Timestamp.nullable(),
    endedAt: Timestamp.nullable(),
    stepsExecuted: z.int(),
    stepBudget: z.int(),
    tokens: Tokens,
    costUsd: CostUsd.describe("null: price unknown"),
    model: z.string().nullable(),
    summary: z.string().nullable(),
    error: z.string().nullable(),
    endReason: z.string().nullable().describe(END_REASONS.join(" | ")),
    skippedCount: z.int().describe("Fire times missed before this one (catch-up) or overlapping"),
    delivery: z
      .object({ id: z.string(), event: z.string().nullable() })
      .nullable()
      .describe("A webhook-triggered run: the delivery's id (webhook-id or X-GitHub-Delivery) and event name"),
    input: z
      .unknown()
      .nullable()
      .optional()
      .describe("What the run was started with (null: nothing). Shown on one run (GET /runs/{id}, the answer that started it), not in lists or events"),
    plan: Plan.nullable(),
    waitingFor: WaitingFor.nullable()
      .optional()
      .describe("A `waiting` run: the call to approve or the question to answer (on one run and in run.waiting events; lists leave it out)"),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .meta({ id: "Run" });
export type Run = z.infer<typeof Run>;

export const Step = z
  .object({
    runId: z.string(),
    stepNo: z.int(),
    thought: z.string().nullable(),
    toolName: z.string().nullable(),
    toolInput: z.unknown().nullable(),
    observation: z.string().nullable(),
    durationMs: z.int(),
    tokens: Tokens,
    costUsd: CostUsd.describe("null: no model call, or price unknown"),
    error: z.string().nullable(),
    createdAt: Timestamp,
  })
  .meta({ id: "Step" });
export type Step = z.infer<typeof Step>;

export const Output = z
  .object({
    id: z.string(),
    runId: z.string(),
    kind: z.enum(OUTPUT_KINDS),
    path: z.string().nullable(),
    payload: z.unknown().nullable(),
    createdAt: Timestamp,
  })
  .meta({ id: "Output" });
export type Output = z.infer<typeof Output>;

export const listOf = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item), nextCursor: z.string().nullable() });
export type Page<T> = { items: T[]; nextCursor: string | null };

const Limit = z.coerce.number().int().min(1).max(100).default(20);
const Cursor = z.string().max(200).optional();

export const ListGoalsQuery = z.object({ status: z.enum(GOAL_STATUSES).optional(), limit: Limit, cursor: Cursor });
export const ListRunsQuery = z.object({
  goalId: z.string().max(100).optional(),
  status: z.enum(RUN_STATUSES).optional(),
  trigger: z.enum(TRIGGERS).optional(),
  limit: Limit,
  cursor: Cursor,
});
export const ListStepsQuery = z.object({ limit: z.coerce.number().int().min(1).max(500).default(100), cursor: Cursor });

export const ErrorBody = z
  .object({
    error: z.object({
      code: z.string(),
      message: z.string(),
      details: z.unknown().optional(),
      requestId: z.string().optional(),
    }),
  })
  .meta({ id: "Error" });
export type ErrorBody = z.infer<typeof ErrorBody>;

export const Health = z.object({ ok: z.boolean(), version: z.string(), time: Timestamp });
export const Ready = z.object({
  ok: z.boolean(),
  version: z.string(),
  checks: z.record(z.string(), z.object({ ok: z.boolean(), detail: z.string().optional() }).loose()),
});

export const ToolInfo = z
  .object({
    name: z.string(),
    description: z.string(),
    inputSchema: z.record(z.string(), z.unknown()).describe("JSON Schema of the tool's arguments"),
    configured: z.boolean().describe("false only when state is not_configured"),
    state: z
      .enum(TOOL_STATES)
      .describe(
        "ready; not_configured: a variable is missing and the tool is hidden from the model; limited: configured but " +
          "working in part (e.g. emails recorded, not sent; the search endpoint not answering), still offered to the model",
      ),
    reason: z.string().optional().describe("Unless ready: why, naming the variable to set"),
    source: z.string().optional().describe('"builtin", or "mcp:<server>" for a registered MCP server\'s tool (named <server>__<tool>)'),
  })
  .meta({ id: "ToolInfo" });
export type ToolInfo = z.infer<typeof ToolInfo>;

export const GoalFile = z
  .object({
    path: z.string().describe("Relative to the goal's storage"),
    size: z.int(),
    contentType: z.string().nullable(),
    uploadedAt: Timestamp,
  })
  .meta({ id: "GoalFile" });
export type GoalFile = z.infer<typeof GoalFile>;
export const ListFilesQuery = z.object({
  prefix: z.string().max(512).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().max(1000).optional(),
});

export const InboundTrigger = z
  .object({
    enabled: z.boolean(),
    url: z.string().nullable().describe("Where deliveries go (POST, signed; no bearer token); null while disabled"),
    enabledAt: Timestamp.nullable(),
    secretCreatedAt: Timestamp.nullable().describe("When the current secret was made (enable or rotate)"),
    lastFiredAt: Timestamp.nullable().describe("When a delivery last started (or tried to start) a run"),
  })
  .meta({ id: "InboundTrigger" });
export type InboundTrigger = z.infer<typeof InboundTrigger>;

export const InboundTriggerWithSecret = InboundTrigger.extend({
  secret: z.string().describe("whsec_…: shown only in this answer. Standard Webhooks senders use it as is; for GitHub paste the whole string"),
}).meta({ id: "InboundTriggerWithSecret" });
export type InboundTriggerWithSecret = z.infer<typeof InboundTriggerWithSecret>;

export const DeliveryAccepted = z
  .object({
    runId: z.string(),
    status: z.enum(RUN_STATUSES),
    deliveryId: z.string(),
    replayed: z.boolean().describe("true: this delivery id was seen before; the run is the one it started then"),
  })
  .meta({ id: "DeliveryAccepted" });

export const LlmValidateRequest = z
  .object({ provider: z.enum(PROVIDERS).optional(), model: z.string().min(1).max(200).optional() })
  .strict()
  .meta({ id: "LlmValidateRequest" });
export type LlmValidateRequest = z.infer<typeof LlmValidateRequest>;

export const LlmValidation = z
  .object({ provider: z.string(), model: z.string(), ok: z.boolean(), reason: z.string().optional() })
  .meta({ id: "LlmValidation" });
export type LlmValidation = z.infer<typeof LlmValidation>;

const Instant = z.union([z.iso.date(), z.iso.datetime({ offset: true })], { error: "expected an ISO 8601 date or date-time" });
export const UsageQuery = z.object({
  from: Instant.optional().describe("Default: 30 days before to"),
  to: Instant.optional().describe("Default: now"),
  goalId: z.string().max(100).optional(),
  groupBy: z.enum(USAGE_GROUPS).default("day"),
  tz: TimeZone.optional(),
});
const UsageSums = z.object({
  runs: z.int(),
  promptTokens: z.int(),
  completionTokens: z.int(),
  costUsd: z.number(),
  unpricedRuns: z.int().describe("Not in costUsd: price unknown"),
});
export const Usage = z
  .object({
    from: Timestamp,
    to: Timestamp,
    groupBy: z.enum(USAGE_GROUPS),
    items: z.array(UsageSums.extend({ key: z.string() })),
    totals: UsageSums,
    monthlyBudgetUsd: z
      .number()
      .nullable()
      .describe("The instance's monthly budget (MONTHLY_BUDGET_USD, per UTC calendar month); null when none is set or it is not a number"),
  })
  .meta({ id: "Usage" });
export type Usage = z.infer<typeof Usage>;

/** An MCP server's URL: http(s), stored as its WHATWG serialisation; the egress guard's checks come on top (api/routes/mcp-servers.ts). */
const McpUrl = HttpUrl;
/** Headers the MCP transport sets itself: a registration may not replace them. */
const MANAGED_HEADERS = ["accept", "content-type", "content-length", "host", "mcp-session-id", "mcp-protocol-version", "last-event-id", "user-agent"];
const McpHeaders = z
  .record(
    z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$/, "expected an HTTP header name"),
    z
      .string()
      .min(1)
      .max(4096)
      .regex(/^[^\r\n\0]*$/, "a header value may not contain line breaks"),
  )
  .superRefine((h, ctx) => {
    const names = Object.keys(h);
    if (names.length > 20) ctx.addIssue({ code: "custom", message: "at most 20 headers" });
    for (const n of names)
      if (MANAGED_HEADERS.includes(n.toLowerCase()))
        ctx.addIssue({ code: "custom", path: [n], message: `the MCP transport sets this header itself (${MANAGED_HEADERS.join(", ")})` });
  })
  .describe("Sent with every request to the server (e.g. Authorization: Bearer …). Stored encrypted; never shown again");

export const CreateMcpServer = z
  .object({
    name: McpServerName.describe("How goals name it (params.mcpServers) and the prefix of its tools: <name>__<tool>"),
    url: McpUrl.describe("The server's Streamable HTTP endpoint, e.g. https://mcp.example.com/mcp"),
    headers: McpHeaders.optional(),
  })
  .strict()
  .meta({ id: "CreateMcpServer" });
export type CreateMcpServer = z.infer<typeof CreateMcpServer>;

export const UpdateMcpServer = z
  .object({
    url: McpUrl.optional(),
    headers: McpHeaders.nullable().optional().describe("Replaces every header; null removes them all"),
  })
  .strict()
  .meta({ id: "UpdateMcpServer" });
export type UpdateMcpServer = z.infer<typeof UpdateMcpServer>;

export const McpToolInfo = z.object({
  name: z.string().describe("As the model sees it: <server>__<tool>, shortened with a hash suffix when over 64 characters"),
  tool: z.string().describe("The server's own name for it"),
  description: z.string(),
  inputSchema: z.record(z.string(), z.unknown()),
});

export const McpServerInfo = z
  .object({
    name: z.string(),
    url: z.string(),
    headerNames: z.array(z.string()).describe("The names of the headers sent; their values are never shown"),
    status: z.enum(MCP_SERVER_STATES).describe("ready: the last listing worked; error: it failed (lastError), the tools of the last good one stay"),
    lastError: z.string().nullable(),
    tools: z.array(McpToolInfo),
    serverInfo: z.object({ name: z.string(), version: z.string() }).nullable().describe("What the server said it is"),
    refreshedAt: Timestamp.nullable().describe("The last listing that worked"),
    checkedAt: Timestamp.describe("The last attempt"),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .meta({ id: "McpServer" });
export type McpServerInfo = z.infer<typeof McpServerInfo>;
