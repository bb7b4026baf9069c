/** One error class and one envelope: `{ "error": { "code", "message", "details"?, "requestId"? } }`. */
import type { z } from "zod";

export const ERROR_STATUS = {
  validation_error: 400,
  bad_request: 400,
  unauthorized: 401,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  idempotency_key_in_use: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  idempotency_key_reused: 422,
  rate_limited: 429,
  internal: 500,
  bad_gateway: 502,
  not_configured: 503,
  unavailable: 503,
} as const;
export type ErrorCode = keyof typeof ERROR_STATUS;

export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
  get status(): (typeof ERROR_STATUS)[ErrorCode] {
    return ERROR_STATUS[this.code];
  }
}

export const notFound = (what: string, id: string) => new ApiError("not_found", `${what} ${id} not found`);

/** "schedule.cron: expected 5 fields; params.stepBudget: too big" — every failing field named. */
export function validationError(error: z.ZodError, where?: "query" | "param" | "json"): ApiError {
  const issues = error.issues.map((i) => ({
    path: i.path.map(String).join(".") || (where === "json" ? "body" : (where ?? "input")),
    message: i.code === "unrecognized_keys" ? `unknown field(s) ${i.keys.join(", ")}` : i.message,
  }));
  return invalidFields(issues);
}

/** The 400 `validation_error` for issues found outside zod, in the same shape as validationError's. */
export function invalidFields(issues: { path: string; message: string }[]): ApiError {
  return new ApiError("validation_error", issues.map((i) => `${i.path}: ${i.message}`).join("; "), { issues });
}
