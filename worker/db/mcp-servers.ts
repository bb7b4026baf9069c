/** The MCP server registry (mcp_servers): insert, read, update after a listing, remove. */
import { and, asc, eq, inArray, isNull } from "drizzle-orm";
import type { Db } from "./client";
import { type McpServerRow, mcpServers, type McpToolRecord } from "./schema";

export async function listMcpServers(db: Db): Promise<McpServerRow[]> {
  return db.select().from(mcpServers).orderBy(asc(mcpServers.name)).all();
}

export async function getMcpServer(db: Db, name: string): Promise<McpServerRow | undefined> {
  return db.select().from(mcpServers).where(eq(mcpServers.name, name)).get();
}

/** The named servers that exist (a goal's mcpServers), in one query. */
export async function getMcpServers(db: Db, names: readonly string[]): Promise<McpServerRow[]> {
  if (!names.length) return [];
  return db
    .select()
    .from(mcpServers)
    .where(inArray(mcpServers.name, [...names]))
    .all();
}

/** Inserts a server whose first listing worked; false when the name is taken (nothing written). */
export async function insertMcpServer(db: Db, row: Omit<McpServerRow, "createdAt" | "updatedAt">): Promise<boolean> {
  const r = await db
    .insert(mcpServers)
    .values({ ...row, createdAt: row.checkedAt, updatedAt: row.checkedAt })
    .onConflictDoNothing()
    .returning({ name: mcpServers.name });
  return r.length > 0;
}

/** What a listing was made with: the row's name, URL and sealed headers at the time. */
type ListedWith = Pick<McpServerRow, "name" | "url" | "headersSealed">;

/**
 * Only while the row still has the URL and headers the listing used: a PATCH that moved the server
 * meanwhile recorded its own listing, which an older one must not overwrite.
 */
const sameTarget = (w: ListedWith) =>
  and(
    eq(mcpServers.name, w.name),
    eq(mcpServers.url, w.url),
    w.headersSealed === null ? isNull(mcpServers.headersSealed) : eq(mcpServers.headersSealed, w.headersSealed),
  );

/** A listing that worked: the tools, the server's info, ready. Undefined when the row changed or went. */
export async function recordMcpListing(
  db: Db,
  listed: ListedWith,
  tools: McpToolRecord[],
  serverInfo: McpServerRow["serverInfo"],
  now = Date.now(),
): Promise<McpServerRow | undefined> {
  return db
    .update(mcpServers)
    .set({ tools, serverInfo, status: "ready", lastError: null, refreshedAt: now, checkedAt: now, updatedAt: now })
    .where(sameTarget(listed))
    .returning()
    .get();
}

/** A listing that failed: the reason; the tools of the last listing that worked stay. Undefined as above. */
export async function recordMcpFailure(db: Db, listed: ListedWith, error: string, now = Date.now()): Promise<McpServerRow | undefined> {
  return db.update(mcpServers).set({ status: "error", lastError: error, checkedAt: now, updatedAt: now }).where(sameTarget(listed)).returning().get();
}

/** Replaces the URL and/or headers (after the new ones answered) with the listing they gave. */
export async function updateMcpServer(
  db: Db,
  name: string,
  set: Pick<McpServerRow, "url" | "headerNames" | "headersSealed" | "tools" | "serverInfo">,
  now = Date.now(),
): Promise<McpServerRow | undefined> {
  return db
    .update(mcpServers)
    .set({ ...set, status: "ready", lastError: null, refreshedAt: now, checkedAt: now, updatedAt: now })
    .where(eq(mcpServers.name, name))
    .returning()
    .get();
}

export async function deleteMcpServer(db: Db, name: string): Promise<boolean> {
  const r = await db.delete(mcpServers).where(eq(mcpServers.name, name)).returning({ name: mcpServers.name });
  return r.length > 0;
}
