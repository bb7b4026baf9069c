/** Bearer auth for /api: fail closed when no token is configured, compare in constant time. */
import type { Context, MiddlewareHandler } from "hono";
import type { App } from "./router";
import { ApiError } from "./errors";

const encoder = new TextEncoder();
const digest = async (s: string) => crypto.subtle.digest("SHA-256", encoder.encode(s));
/** The configured token's digest, once per isolate (a digest costs about a millisecond of CPU in workerd). */
const expectedDigests = new Map<string, ArrayBuffer>();

/** Hashing first gives equal-length inputs, so timingSafeEqual leaks neither content nor length. */
export async function tokensMatch(given: string, expected: string): Promise<boolean> {
  let b = expectedDigests.get(expected);
  if (!b) {
    if (expectedDigests.size > 4) expectedDigests.clear(); // a rotated token replaces the old one
    expectedDigests.set(expected, (b = await digest(expected)));
  }
  return crypto.subtle.timingSafeEqual(await digest(given), b);
}

const bearerOf = (header: string | undefined) => /^Bearer\s+(\S+)\s*$/i.exec(header ?? "")?.[1];

/** True when the request carries the configured API token (public routes use it to show more detail). */
export async function hasValidBearer(c: Context<App>): Promise<boolean> {
  const given = bearerOf(c.req.header("authorization"));
  return !!c.env.API_TOKEN && !!given && (await tokensMatch(given, c.env.API_TOKEN));
}

export const requireBearer: MiddlewareHandler<App> = async (c, next) => {
  const expected = c.env.API_TOKEN;
  if (!expected) throw new ApiError("not_configured", "API_TOKEN is not set: run `wrangler secret put API_TOKEN` (or set it in .dev.vars for `npm run dev`)");
  const given = bearerOf(c.req.header("authorization"));
  if (!given || !(await tokensMatch(given, expected))) {
    c.header("WWW-Authenticate", 'Bearer realm="async-agent"');
    throw new ApiError("unauthorized", given ? "invalid bearer token" : "missing bearer token (Authorization: Bearer <API_TOKEN>)");
  }
  await next();
};
