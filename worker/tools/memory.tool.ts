import { z } from "zod";
import { insertMemory, searchMemories } from "../db/memories";
import type { MemoryRow } from "../db/schema";
import { defineTool } from "./tool";
import { iso } from "../lib/iso";

const MEMORY_TYPES = ["note", "fact", "reported", "preference", "todo"] as const;
const day = (ms: number) => iso(ms).slice(0, 10);
const line = (m: MemoryRow) => `- [${day(m.createdAt)}, ${m.type}] ${m.content}`;

export const rememberTool = () =>
  defineTool({
    name: "remember",
    description:
      "Save a short memory for future runs of this goal (e.g. which stories were already reported, user preferences). " +
      "Memories persist across runs; recall searches them.",
    input: z.object({
      content: z.string().trim().min(1).max(2000).describe("What to remember, self-contained (include names, URLs, dates)"),
      type: z.enum(MEMORY_TYPES).optional().describe("Kind of memory; use 'reported' for items already sent to the user"),
    }),
    execute: async ({ content, type }, ctx) => {
      const m = await insertMemory(ctx.db, { goalId: ctx.goal.id, runId: ctx.runId, type: type ?? "note", content });
      return { text: `Remembered (${m.type}).` };
    },
  });

export const recallTool = () =>
  defineTool({
    name: "recall",
    description: "Search this goal's memories from earlier runs by keywords. Returns the best matches with their dates.",
    input: z.object({
      query: z.string().trim().min(1).max(400).describe("Keywords to look for"),
      limit: z.int().min(1).max(50).optional().describe("Max memories (default 10)"),
    }),
    execute: async ({ query, limit }, ctx) => {
      const rows = await searchMemories(ctx.db, ctx.goal.id, query, limit ?? 10);
      if (!rows.length) return { text: `No memories match "${query}".` };
      return { text: rows.map(line).join("\n") };
    },
  });
