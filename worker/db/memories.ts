/** Long-term memory of a goal: what its runs chose to remember, searched with FTS5 (memories_fts). */
import { desc, eq, sql } from "drizzle-orm";
import type { Db } from "./client";
import { newId } from "../lib/ids";
import { memories, type MemoryRow } from "./schema";

export async function insertMemory(
  db: Db,
  m: { goalId: string; runId?: string | null; type?: string; content: string; metadata?: Record<string, unknown> | null },
  now = Date.now(),
): Promise<MemoryRow> {
  const row: MemoryRow = {
    id: newId("mem", now),
    goalId: m.goalId,
    runId: m.runId ?? null,
    type: m.type ?? "note",
    content: m.content,
    metadata: m.metadata ?? null,
    createdAt: now,
  };
  await db.insert(memories).values(row);
  return row;
}

/** The newest memories of a goal, newest first (for the prompt's digest). */
export async function recentMemories(db: Db, goalId: string, limit = 10): Promise<MemoryRow[]> {
  return db.select().from(memories).where(eq(memories.goalId, goalId)).orderBy(desc(memories.id)).limit(limit);
}

/** Keyword search (FTS5, porter stemming), best matches first. Words are quoted so user text is never FTS syntax. */
export async function searchMemories(db: Db, goalId: string, query: string, limit = 10): Promise<MemoryRow[]> {
  const terms = query.match(/[\p{L}\p{N}]+/gu) ?? [];
  if (!terms.length) return [];
  const match = terms.map((t) => `"${t}"`).join(" OR ");
  const rows = await db.all<{ id: string }>(sql`
    SELECT m.id AS id FROM memories_fts f JOIN memories m ON m.rowid = f.rowid
    WHERE memories_fts MATCH ${match} AND m.goal_id = ${goalId}
    ORDER BY bm25(memories_fts) LIMIT ${limit}`);
  if (!rows.length) return [];
  // One bound parameter per id: `limit` (recall allows at most 50) keeps the list under D1's 100 per statement.
  const byId = new Map(
    (
      await db
        .select()
        .from(memories)
        .where(sql`${memories.id} IN ${rows.map((r) => r.id)}`)
    ).map((m) => [m.id, m]),
  );
  return rows.map((r) => byId.get(r.id)).filter((m): m is MemoryRow => !!m);
}
