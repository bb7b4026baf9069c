import { drizzle } from "drizzle-orm/d1";
import type { Db } from "../context";
import * as schema from "./schema";

// One drizzle instance per D1 binding and isolate: building one walks the whole schema (a few ms of
// CPU), which every request, queue message and agent call used to pay.
const instances = new WeakMap<D1Database, Db>();

export function dbFor(d1: D1Database): Db {
  let db = instances.get(d1);
  if (!db) instances.set(d1, (db = drizzle(d1, { schema })));
  return db;
}
