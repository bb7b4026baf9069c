import { z } from "zod";
import { defineTool } from "./tool";

export const finishTool = () =>
  defineTool({
    name: "finish",
    description: "End the run when the objective is done (or cannot be done). Give the final report for the user as markdown.",
    input: z.object({
      summary: z.string().min(1).describe("The final report, in markdown: what was done, found and produced"),
    }),
    journaled: true,
    execute: async ({ summary }) => ({ text: "Run finished.", end: { summary } }),
  });
