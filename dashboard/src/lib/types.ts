/** The API's shapes as the dashboard uses them: the schemas' own types (worker/api/schemas.ts), types only. */
import type { z } from "zod";
import type {
  Goal,
  GoalFile,
  InboundTrigger,
  InboundTriggerWithSecret,
  McpServerInfo,
  Output,
  Page,
  Plan as PlanSchema,
  Run,
  SchedulePreview,
  Step,
  ToolInfo,
  Usage,
  WaitingFor as WaitingForSchema,
} from "../../../worker/api/schemas";

export type { Goal, GoalFile, InboundTrigger, InboundTriggerWithSecret, Output, Page, Run, SchedulePreview, Step, ToolInfo, Usage };
export type WaitingFor = z.infer<typeof WaitingForSchema>;
export type Plan = z.infer<typeof PlanSchema>;
export type McpServer = z.infer<typeof McpServerInfo>;
/** One run as GET /runs/:id answers it (with `waitingFor` while it waits for a person). */
export type RunDetail = Run;

export type Ready = { ok: boolean; version: string; checks: Record<string, { ok: boolean; detail?: string; provider?: string; model?: string }> };
