import { z } from "zod";
import { ASK_USER_TOOL } from "../domain/vocabulary";
import { defineTool, ToolError } from "./tool";

/**
 * A question to the goal's owner. The run loop never executes it: it opens a wait (db/waits.ts), the run
 * lets go of its agent until the person answers (POST /runs/:id/answer, a one-click link) or the wait
 * expires, and the answer becomes this call's observation (agent/person-gate.ts). Offered only to goals
 * that list it in allowedTools: a scheduled run nobody watches should not stop to ask.
 */
export const askUserTool = () =>
  defineTool({
    name: ASK_USER_TOOL,
    description:
      "Ask the goal's owner a question and wait for the answer (it may take hours; the run pauses meanwhile). " +
      "Use it only when you cannot go on without their decision or information.",
    input: z.object({
      question: z.string().trim().min(1).max(2000).describe("The question, self-contained: the owner reads it without the run's context"),
      choices: z.array(z.string().trim().min(1).max(200)).min(2).max(10).optional().describe("Answers to pick from, when the answer is one of a few"),
    }),
    execute: async () => {
      throw new ToolError("ask_user is answered by a person: the run loop waits for the answer instead of running it");
    },
  });
