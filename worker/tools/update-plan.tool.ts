import { z } from "zod";
import { setRunPlan } from "../db/runs";
import { PLAN_ITEM_STATUSES, UPDATE_PLAN_TOOL } from "../domain/vocabulary";
import { defineTool } from "./tool";

/**
 * The run's visible plan: the model keeps a checklist, the run stores the latest one (`GET /runs/:id` →
 * `plan`, an SSE `plan` event, `run watch`), and each update is a step row like any call. Updates do
 * not count against the step budget (agent/run-loop.ts says how they are counted).
 */
export const updatePlanTool = () =>
  defineTool({
    name: UPDATE_PLAN_TOOL,
    description:
      "Set your plan for this run as a checklist, and update it as you go (mark items in_progress, done or skipped). " +
      "Each call replaces the whole plan. It does not use up steps.",
    input: z.object({
      items: z
        .array(
          z.object({
            title: z.string().trim().min(1).max(200).describe("One step of the plan, short"),
            status: z.enum(PLAN_ITEM_STATUSES).describe("pending, in_progress, done or skipped"),
          }),
        )
        .min(1)
        .max(30),
      note: z.string().trim().max(1000).optional().describe("What changed, or why"),
    }),
    execute: async ({ items, note }, ctx) => {
      await setRunPlan(ctx.db, ctx.runId, { items, ...(note ? { note } : {}), updatedAt: Date.now() });
      const done = items.filter((i) => i.status === "done" || i.status === "skipped").length;
      return { text: `Plan saved: ${done} of ${items.length} items done or skipped.` };
    },
  });
