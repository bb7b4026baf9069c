/** Every sub-app is made here so that all of them share the one validation hook. */
import { OpenAPIHono } from "@hono/zod-openapi";
import type { Db } from "../db/client";
import type { Env } from "../lib/env";
import { invalidFields, validationError } from "./errors";

/** The Hono environment of every route: the bindings, and the per-request drizzle client and id. */
export type App = { Bindings: Env; Variables: { db: Db; requestId: string } };

type Target = "query" | "param" | "json";

/**
 * Paths of strings (values or keys) that are not well-formed UTF-16: JSON may carry a lone surrogate
 * ("\ud800"), which zod accepts and D1 stores as U+FFFD, so the stored text would differ from the
 * echoed one. Checked here once for every request field of every route.
 */
function illFormedPaths(value: unknown, path: string[] = [], out: string[] = []): string[] {
  if (typeof value === "string") {
    if (!value.isWellFormed()) out.push(path.join("."));
  } else if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) illFormedPaths(v, [...path, String(i)], out);
  } else if (value && typeof value === "object")
    for (const [k, v] of Object.entries(value)) {
      if (!k.isWellFormed()) out.push([...path, k.toWellFormed()].join("."));
      else illFormedPaths(v, [...path, k], out);
    }
  return out;
}

export function newRouter() {
  return new OpenAPIHono<App>({
    defaultHook: (result) => {
      const where = result.target as Target;
      if (!result.success) throw validationError(result.error, where);
      const bad = illFormedPaths(result.data);
      if (bad.length)
        throw invalidFields(
          bad.map((p) => ({ path: p || (where === "json" ? "body" : where), message: "contains a lone UTF-16 surrogate: send well-formed Unicode text" })),
        );
    },
  });
}

/** `{ content: { "application/json": { schema } }, description }` for createRoute responses. */
export function jsonContent<T>(schema: T, description: string) {
  return { content: { "application/json": { schema } }, description };
}
