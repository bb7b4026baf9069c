/**
 * The words the Worker, the CLI and the dashboard share: statuses, kinds, triggers, providers, policies,
 * defaults and event names. Plain constants with no imports at all, so the CLI can load them at start-up
 * without zod, and every layer of the Worker can use them (the database enums and the API schemas are
 * built from these lists).
 */

export const GOAL_STATUSES = ["active", "paused", "archived"] as const;
export type GoalStatus = (typeof GOAL_STATUSES)[number];

export const RUN_STATUSES = ["pending", "running", "waiting", "completed", "failed", "cancelled", "skipped"] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/**
 * A run not over yet: waiting for its agent (`pending`), executing in it (`running`), or waiting for a
 * person's decision or answer (`waiting`: no agent holds it meanwhile). All three count for the overlap policies.
 */
export const ACTIVE_RUN_STATUSES = ["pending", "running", "waiting"] as const satisfies readonly RunStatus[];
/** A run that is over. `skipped` never ran (overlap policy); the other three ended by running. */
export const TERMINAL_RUN_STATUSES = ["completed", "failed", "cancelled", "skipped"] as const satisfies readonly RunStatus[];
/** How a run that ran ends: these owe their goal's webhook a notification. */
export const ENDED_RUN_STATUSES = ["completed", "failed", "cancelled"] as const satisfies readonly RunStatus[];
export type EndedRunStatus = (typeof ENDED_RUN_STATUSES)[number];

export const isTerminal = (s: RunStatus): boolean => (TERMINAL_RUN_STATUSES as readonly RunStatus[]).includes(s);
export const isEnded = (s: RunStatus): s is EndedRunStatus => (ENDED_RUN_STATUSES as readonly RunStatus[]).includes(s);

/** Why a run ended (runs.end_reason). */
export const END_REASONS = ["finished", "answered", "budget_exhausted", "cancelled", "error", "skipped"] as const;

/** What started a run: `POST /goals/:id/run`, the goal's schedule, or a signed delivery to its inbound trigger. */
export const TRIGGERS = ["manual", "schedule", "webhook"] as const;
export type Trigger = (typeof TRIGGERS)[number];

/** A run's input (`POST /goals/:id/run` body `input`) at most, serialised as JSON. */
export const RUN_INPUT_MAX_BYTES = 64 * 1024;
/** An inbound webhook delivery's body at most; it becomes the run's input. */
export const DELIVERY_MAX_BYTES = 256 * 1024;
/** Accepted deliveries per goal per minute when the goal does not say (params.triggerRatePerMinute). */
export const DEFAULT_TRIGGER_RATE_PER_MINUTE = 60;

export const OUTPUT_KINDS = ["summary", "file", "webhook", "email"] as const;

export const PROVIDERS = ["openai", "openrouter", "ollama"] as const;
export type Provider = (typeof PROVIDERS)[number];

/** The deployment's variables of each provider: its key, its default model and its base URL. */
export const PROVIDER_ENV = {
  openai: { key: "OPENAI_API_KEY", model: "OPENAI_MODEL", baseUrl: "OPENAI_BASE_URL" },
  openrouter: { key: "OPENROUTER_API_KEY", model: "OPENROUTER_MODEL", baseUrl: "OPENROUTER_BASE_URL" },
  ollama: { key: "OLLAMA_API_KEY", model: "OLLAMA_MODEL", baseUrl: "OLLAMA_BASE_URL" },
} as const satisfies Record<Provider, { key: string; model: string; baseUrl: string }>;

/** When a goal's fire time comes while one of its runs is still going: skip the new run, queue it, or allow both. */
export const OVERLAP_POLICIES = ["skip", "queue", "allow"] as const;
export type Overlap = (typeof OVERLAP_POLICIES)[number];
export const DEFAULT_OVERLAP: Overlap = "skip";
export const overlapOf = (params: { overlap?: Overlap }): Overlap => params.overlap ?? DEFAULT_OVERLAP;

/** Which URLs fetch_page may open (see tools/fetch-policy.ts). */
export const FETCH_POLICIES = ["provenance", "any"] as const;

/** How GET /usage groups runs: per calendar day (UTC or `tz`), per goal, per model. */
export const USAGE_GROUPS = ["day", "goal", "model"] as const;

/** What a waiting run waits for: a yes or no for a tool call (`params.requireApproval`), or an answer to `ask_user`. */
export const WAIT_KINDS = ["approval", "question"] as const;
export type WaitKind = (typeof WAIT_KINDS)[number];
/** How a wait was settled: a person approved, denied or answered, or nobody did before it expired. */
export const WAIT_OUTCOMES = ["approved", "denied", "answered", "expired"] as const;
export type WaitOutcome = (typeof WAIT_OUTCOMES)[number];
export const APPROVAL_DECISIONS = ["approve", "deny"] as const;
/** How long a wait lasts when the goal does not say (params.approvalTimeoutSeconds), and at most. */
export const DEFAULT_WAIT_SECONDS = 24 * 3600;
export const MAX_WAIT_SECONDS = 7 * 24 * 3600;
/** The built-in tools of a person in the loop: ask a question (opt-in), and keep a visible plan. */
export const ASK_USER_TOOL = "ask_user";
export const UPDATE_PLAN_TOOL = "update_plan";
export const PLAN_ITEM_STATUSES = ["pending", "in_progress", "done", "skipped"] as const;

/** Agent steps per run when the goal does not say (params.stepBudget). */
export const DEFAULT_STEP_BUDGET = 20;

/** A tool's state in this deployment: offered to the model (`ready`, `limited`) or hidden (`not_configured`). */
export const TOOL_STATES = ["ready", "not_configured", "limited"] as const;
export type ToolState = (typeof TOOL_STATES)[number];

/**
 * A run's events, on its SSE stream (`event:`) and as its webhook's `type`: `run.started`, one `step`
 * per finished step, then one of RUN_END_EVENTS.
 */
export const RUN_STARTED_EVENT = "run.started";
export const STEP_EVENT = "step";
/** The run waits for a person (data: the run, with `waitingFor`), and goes on once decided (`run.resumed`). */
export const RUN_WAITING_EVENT = "run.waiting";
export const RUN_RESUMED_EVENT = "run.resumed";
/** The run's plan changed (data: the plan). */
export const PLAN_EVENT = "plan";
export const RUN_END_EVENTS = ["run.completed", "run.failed", "run.cancelled"] as const;
export type RunEndEvent = (typeof RUN_END_EVENTS)[number];
/** The end event of a finished run; a skipped run never ran, which reads best as cancelled. */
export const endEventOf = (s: RunStatus): RunEndEvent => (s === "completed" ? "run.completed" : s === "failed" ? "run.failed" : "run.cancelled");

/** The webhook event of a goal whose monthly budget (or the instance's) is used up: once per goal and month. */
export const BUDGET_REACHED_EVENT = "usage.budget_reached";

/** A registered MCP server: its last connection and tool listing worked (`ready`), or failed (`error`, with the reason; the tools from the last listing that worked stay). */
export const MCP_SERVER_STATES = ["ready", "error"] as const;
export type McpServerState = (typeof MCP_SERVER_STATES)[number];
/** A run refreshes an MCP server's tool list when it is older than this (a refresh by hand: POST /mcp-servers/:name/refresh). */
export const MCP_REFRESH_MINUTES = 10;
