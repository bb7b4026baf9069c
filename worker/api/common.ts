/** Pieces of route definitions that several resources use. */
import { z } from "zod";
import { ErrorBody } from "./schemas";
import { jsonContent } from "./router";

export const IdParam = z.object({ id: z.string().min(1).max(100) });

export const errorResponses = {
  400: jsonContent(ErrorBody, "Invalid input: the message names each field"),
  401: jsonContent(ErrorBody, "Missing or wrong bearer token"),
  404: jsonContent(ErrorBody, "Not found"),
} as const;

/** The Idempotency-Key header of the POSTs that take one (api/idempotency.ts checks and applies it). */
export const IdempotencyHeader = z.object({
  "idempotency-key": z
    .string()
    .min(1)
    .max(255)
    .optional()
    .describe(
      "A unique key per logical request (e.g. a UUID). Retrying with the same key and body within 24 h returns the first answer " +
        "(with `Idempotent-Replayed: true`) and does nothing again; the same key with another body is a 422",
    ),
});

export const idempotencyResponses = {
  422: jsonContent(ErrorBody, "The Idempotency-Key was used with another request body"),
} as const;
