/** Bearer auth for /api: fail closed when no token is configured, compare in constant time. */
import type { Context, MiddlewareHandler } from "hono";
import type { App } from "./router";
import { ApiError } from "./errors";

const encoder = new TextEncoder();

/**
 * Constant-time for tokens of the configured length, with no digest per request (a SHA-256 costs about a
 * millisecond of CPU in workerd, more than the rest of a list request). A token of another length is
 * refused after a compare of the same cost, so the time tells at most whether the length is right; API
 * tokens are fixed-length random strings, so their length is no secret.
 */
export function tokensMatch(given: string, expected: string): boolean {
  const a = encoder.encode(given);
  const b = encoder.encode(expected);
  if (a.byteLength !== b.byteLength) return !crypto.subtle.timingSafeEqual(a, a);
  return crypto.subtle.timingSafeEqual(a, b);
}

const bearerOf = (header: string | undefined) => /^Bearer\s+(\S+)\s*$/i.exec(header ?? "")?.[1];

/** True when the request carries the configured API token (public routes use it to show more detail). */
export async function hasValidBearer(c: Context<App>): Promise<boolean> {
  const given = bearerOf(c.req.header("authorization"));
  return !!c.env.API_TOKEN && !!given && tokensMatch(given, c.env.API_TOKEN);
}

export const requireBearer: MiddlewareHandler<App> = async (c, next) => {
  const expected = c.env.API_TOKEN;
  if (!expected) throw new ApiError("not_configured", "API_TOKEN is not set: run `wrangler secret put API_TOKEN` (or set it in .dev.vars for `npm run dev`)");
  const given = bearerOf(c.req.header("authorization"));
  if (!given || !tokensMatch(given, expected)) {
    c.header("WWW-Authenticate", 'Bearer realm="async-agent"');
    throw new ApiError("unauthorized", given ? "invalid bearer token" : "missing bearer token (Authorization: Bearer <API_TOKEN>)");
  }
  await next();
};
