/**
 * The domain schemas (zod), with their checks: cron, time zone, schedule, overlap, goal params. The API
 * builds its request and response shapes from them, the database types its params column with them, and
 * the CLI validates with them before it sends anything. Imports only the domain's own modules.
 */
import { z } from "zod";
import { cronError, isTimeZone } from "./next-fire";
import { MCP_SERVER_NAME, TOOL_PATTERN } from "./tool-names";
import {
  DEFAULT_STEP_BUDGET,
  DEFAULT_TRIGGER_RATE_PER_MINUTE,
  DEFAULT_WAIT_SECONDS,
  FETCH_POLICIES,
  MAX_WAIT_SECONDS,
  OVERLAP_POLICIES,
  PROVIDERS,
} from "./vocabulary";

export const Timestamp = z.iso.datetime().describe("ISO 8601 UTC");

const Domain = z
  .string()
  .regex(/^(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*(:\d{1,5})?$/i, "expected a domain name such as example.com, *.example.com or example.com:8443");

export const Cron = z
  .string()
  .max(120)
  .superRefine((v, ctx) => {
    const err = cronError(v);
    if (err) ctx.addIssue({ code: "custom", message: err });
  })
  .describe('Five-field cron, e.g. "0 16 * * 5" (Fridays 16:00)');

export const TimeZone = z
  .string()
  .max(64)
  .superRefine((v, ctx) => {
    if (!isTimeZone(v)) ctx.addIssue({ code: "custom", message: `unknown IANA time zone "${v}"` });
  })
  .describe('IANA time zone, e.g. "Europe/Berlin"');

export const Schedule = z
  .object({ cron: Cron, timezone: TimeZone.default("UTC") })
  .strict()
  .meta({ id: "Schedule" });
export type Schedule = z.infer<typeof Schedule>;

export const Overlap = z.enum(OVERLAP_POLICIES).describe("When a fire time comes while a run of the goal is still going: skip it, queue it, or allow both");

export const ToolName = z
  .string()
  .regex(TOOL_PATTERN, "expected a tool name such as web_search, or an MCP server's tool as <server>__<tool> or <server>__* (at most 64 characters)");

export const McpServerName = z.string().regex(MCP_SERVER_NAME, "expected 1-32 characters a-z, 0-9 and -");

export const GoalParams = z
  .object({
    stepBudget: z.int().min(1).max(200).optional().describe(`Max agent steps per run (default ${DEFAULT_STEP_BUDGET})`),
    tokenBudget: z.int().min(1000).max(10_000_000).optional().describe("Max LLM tokens per run"),
    timeBudgetSeconds: z.int().min(10).max(86_400).optional().describe("Max wall-clock seconds per run"),
    allowedTools: z
      .array(ToolName)
      .max(50)
      .optional()
      .describe("Tools the agent may use (default: all configured, and every tool of its mcpServers); <server>__* covers an MCP server's tools"),
    mcpServers: z
      .array(McpServerName)
      .max(20)
      .optional()
      .describe("Registered MCP servers (POST /mcp-servers) whose tools the agent gets, as <server>__<tool>"),
    provider: z.enum(PROVIDERS).optional().describe("LLM provider override"),
    model: z.string().min(1).max(200).optional().describe("LLM model override"),
    overlap: Overlap.optional(),
    monthlyBudgetUsd: z.number().positive().max(1e6).optional(),
    monthlyTokenBudget: z.int().min(1000).max(1e12).optional(),
    triggerRatePerMinute: z
      .int()
      .min(1)
      .max(10_000)
      .optional()
      .describe(`Inbound webhook deliveries accepted per minute; beyond it a 429 with Retry-After (default ${DEFAULT_TRIGGER_RATE_PER_MINUTE})`),
    requireApproval: z.array(ToolName).max(50).optional().describe("Tools whose calls wait for a person's yes (POST /runs/:id/approval) before they run"),
    approvalTimeoutSeconds: z
      .int()
      .min(60)
      .max(MAX_WAIT_SECONDS)
      .optional()
      .describe(`How long a run waits for an approval or an answer; then the call counts as denied (default ${DEFAULT_WAIT_SECONDS})`),
    constraints: z.string().max(4000).optional().describe("Extra instructions for the agent"),
    allowedDomains: z
      .array(Domain)
      .max(100)
      .optional()
      .describe("If set, outbound requests may only reach these domains and their subdomains; without :port only on ports 80/443"),
    deniedDomains: z.array(Domain).max(100).optional().describe("Outbound requests never reach these domains (on any port, unless one is given)"),
    fetchPolicy: z
      .enum(FETCH_POLICIES)
      .optional()
      .describe(
        'Which URLs fetch_page may open. "provenance" (default): only URLs in the objective or constraints, search results, ' +
          'links on pages fetched in the run, and hosts on allowedDomains. "any": any URL the model writes, which lets a ' +
          "prompt-injected page make the agent send what it read to another site in a URL",
      ),
    emailRecipients: z
      .array(
        z.union([z.email(), z.string().regex(/^@[a-z0-9-]+(\.[a-z0-9-]+)+$/i)], {
          error: "expected an address (name@example.com) or a whole domain (@example.com)",
        }),
      )
      .max(50)
      .optional()
      .describe("Addresses, or @domain for a whole domain, this goal may email (replaces EMAIL_ALLOWED_RECIPIENTS)"),
  })
  .strict()
  .meta({ id: "GoalParams" });
export type GoalParams = z.infer<typeof GoalParams>;
