import { drizzle } from "drizzle-orm/d1";
import type { Db } from "../context";
import * as schema from "./schema";

export function dbFor(d1: D1Database): Db {
  return drizzle(d1, { schema });
}
