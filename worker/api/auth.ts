/** Bearer auth for /api: fail closed when no token is configured, compare in constant time. */
import type { Context, MiddlewareHandler } from "hono";
import type { App } from "./router";
import { ApiError } from "./errors";

/**
 * Constant-time: the loop always walks the configured token's length and folds every difference (and a
 * length mismatch) into one number, so the time says nothing about how much of a guess was right. No
 * digest per request (a SHA-256 costs about a millisecond of CPU in workerd, more than the rest of a list
 * request), and no encoding or call into the runtime: this runs on every /api request.
 */
export function tokensMatch(given: string, expected: string): boolean {
  let diff = given.length ^ expected.length;
  // charCodeAt past the end of a shorter `given` is NaN, which `^` reads as 0: the length already differs.
  for (let i = 0; i < expected.length; i++) diff |= given.charCodeAt(i) ^ expected.charCodeAt(i);
  return diff === 0;
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
