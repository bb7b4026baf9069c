import { type Placeholder, sql } from "drizzle-orm";
import { type DrizzleD1Database, drizzle } from "drizzle-orm/d1";
import * as schema from "./schema";

export type Db = DrizzleD1Database<typeof schema>;

// One drizzle instance per D1 binding and isolate: building one walks the whole schema (a few ms of
// CPU), which every request, queue message and agent call used to pay.
const instances = new WeakMap<D1Database, Db>();

/**
 * D1 binds at most 100 parameters per statement ("too many SQL variables" beyond): a multi-row insert
 * binds one per column per row, and an `IN (...)` list one per item, so both must stay under it.
 */
export const D1_MAX_BOUND_PARAMS = 100;

export function dbFor(d1: D1Database): Db {
  let db = instances.get(d1);
  if (!db) instances.set(d1, (db = drizzle(d1, { schema })));
  return db;
}

const statements = new WeakMap<Db, Map<string, unknown>>();

/**
 * A query built once per drizzle client and reused with placeholders (`sql.placeholder`): building one
 * walks drizzle's entity checks over every SQL chunk, the largest part of a list request's own CPU. For the
 * API's hottest queries; `name` tells the shapes apart.
 */
export function prepared<T>(db: Db, name: string, build: () => T): T {
  let mine = statements.get(db);
  if (!mine) statements.set(db, (mine = new Map()));
  let statement = mine.get(name) as T | undefined;
  if (!statement) mine.set(name, (statement = build()));
  return statement;
}

/** A placeholder named after each field of `row`: the values of a prepared insert of rows of that shape. */
export function placeholders<T extends object>(row: T): { [K in keyof T]: Placeholder } {
  return Object.fromEntries(Object.keys(row).map((k) => [k, sql.placeholder(k)])) as { [K in keyof T]: Placeholder };
}

/** One trivial query: does D1 answer? (readiness) */
export async function pingDb(db: Db): Promise<void> {
  await db.run(sql`select 1`);
}
