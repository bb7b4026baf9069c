/** The API's shapes as the dashboard uses them: the schemas' own types, plus what a run may carry while it waits for a person. */
import type { Goal, GoalFile, Output, Page, Run, SchedulePreview, Step, ToolInfo, Usage } from "../../../worker/api/schemas";

export type { Goal, GoalFile, Output, Page, Run, SchedulePreview, Step, ToolInfo, Usage };

export type WaitingFor =
  | { kind: "approval"; id: string; stepNo: number; tool: string; input: unknown; askedAt: string; expiresAt: string }
  | { kind: "question"; id: string; question: string; choices?: string[]; askedAt: string; expiresAt: string };

export type PlanItem = { title: string; status: "pending" | "in_progress" | "done" | "skipped" };
export type Plan = { items: PlanItem[]; note?: string; updatedAt: string };

/** One run as GET /runs/:id answers it; `waitingFor` and `plan` come with human-in-the-loop runs. */
export type RunDetail = Run & { waitingFor?: WaitingFor | null; plan?: Plan | null };

export type Ready = { ok: boolean; version: string; checks: Record<string, { ok: boolean; detail?: string; provider?: string; model?: string }> };

export type McpServer = {
  name: string;
  url: string;
  status: string;
  lastError?: string | null;
  tools?: { name: string; description?: string }[] | string[];
  headerNames?: string[];
};
