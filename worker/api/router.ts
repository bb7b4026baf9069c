/** Every sub-app is made here so that all of them share the one validation hook. */
import { OpenAPIHono } from "@hono/zod-openapi";
import type { App } from "../context";
import { validationError } from "./errors";

export function newRouter() {
  return new OpenAPIHono<App>({
    defaultHook: (result) => {
      if (!result.success) throw validationError(result.error, result.target as "query" | "param" | "json");
    },
  });
}

/** `{ content: { "application/json": { schema } }, description }` for createRoute responses. */
export function jsonContent<T>(schema: T, description: string) {
  return { content: { "application/json": { schema } }, description };
}
