/** The HTTP API: middleware, auth, the one error envelope, and every resource mounted under /api/v1. */
import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { App } from "./router";
import { dbFor } from "../db/client";
import { VERSION } from "../lib/version";
import { requireBearer } from "./auth";
import { idempotency } from "./idempotency";
import { ApiError, type ErrorCode } from "./errors";
import { files } from "./routes/files";
import { goals } from "./routes/goals";
import { health } from "./routes/health";
import { hooks } from "./routes/hooks";
import { runs } from "./routes/runs";
import { runLive } from "./routes/run-live";
import { runDecisions } from "./routes/run-decisions";
import { decidePage } from "./routes/decide-page";
import { schedules } from "./routes/schedules";
import { llm } from "./routes/llm";
import { mcpServers } from "./routes/mcp-servers";
import { tools } from "./routes/tools";
import { triggers } from "./routes/triggers";
import { usage } from "./routes/usage";
import { newRouter } from "./router";

export const API_PREFIX = "/api/v1";
const MAX_BODY_BYTES = 64 * 1024;

const api = newRouter();
api.use("*", requireBearer);
api.use("*", idempotency);
api.route("/goals", goals);
api.route("/runs", runs);
api.route("/runs", runLive);
api.route("/runs", runDecisions);
api.route("/llm", llm);
api.route("/goals", files);
api.route("/goals", triggers);
api.route("/tools", tools);
api.route("/mcp-servers", mcpServers);
api.route("/usage", usage);
api.route("/schedules", schedules);
api.openAPIRegistry.registerComponent("securitySchemes", "bearer", { type: "http", scheme: "bearer" });
const openApiConfig = {
  openapi: "3.1.0",
  info: { title: "async-agent API", version: VERSION, description: "Persistent background AI agents that pursue goals on a schedule." },
  servers: [{ url: API_PREFIX }],
  security: [{ bearer: [] }],
};
api.get("/openapi.json", (c) => c.json(api.getOpenAPI31Document(openApiConfig)));

export const app = new Hono<App>();

/**
 * On Cloudflare the edge sets cf-ray (16 hex digits and the data centre, "8e1c2f3a4b5c6d7e-FRA"), and
 * reusing it ties our logs to Cloudflare's. A client can send its own (always so under `wrangler dev`),
 * so only that shape is taken: anything else gets an id of ours, never a client's unbounded text.
 */
const CF_RAY = /^[0-9a-f]{16}(-[A-Z]{3})?$/;
const requestIdOf = (cfRay: string | undefined) => (cfRay && CF_RAY.test(cfRay) ? cfRay : crypto.randomUUID());

app.use("*", async (c, next) => {
  c.set("requestId", requestIdOf(c.req.header("cf-ray")));
  c.set("db", dbFor(c.env.DB));
  await next();
  c.header("x-request-id", c.var.requestId);
});
app.use(
  `${API_PREFIX}/*`,
  bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () => {
      throw new ApiError("payload_too_large", `request body is over ${MAX_BODY_BYTES / 1024} KB`);
    },
  }),
);
app.route("/health", health);
// Inbound webhooks: public, outside the bearer-protected /api (each delivery is signed instead).
app.route("/hooks", hooks);
// One-click decisions from run.waiting emails and webhooks: public, the signed token is the credential.
app.route("/decide", decidePage);
app.route(API_PREFIX, api);
// The dashboard (static assets) answers browsers' page loads before the Worker runs; a request that still
// lands here for one of its pages (a client that is not a browser navigating) gets the same page shell.
const dashboardShell = (c: Context<App>) => c.env.ASSETS.fetch(new URL("/", c.req.url));
app.get("/", dashboardShell);
app.get("/docs", dashboardShell);

/** The method+path pairs the API answers: used for 405s, and by the test that checks auth on every route. */
export function routeTable(): { method: string; path: string }[] {
  const seen = new Set<string>();
  return app.routes
    .filter((r) => r.method !== "ALL")
    .map((r) => ({ method: r.method, path: r.path }))
    .filter((r) => !seen.has(`${r.method} ${r.path}`) && seen.add(`${r.method} ${r.path}`));
}

const pathPattern = (path: string) => new RegExp(`^${path.replace(/\/:[^/]+/g, "/[^/]+").replace(/\/\*$/, "(/.*)?")}/?$`);

app.notFound((c) => {
  const allowed = routeTable()
    .filter((r) => pathPattern(r.path).test(c.req.path))
    .map((r) => r.method);
  if (allowed.length) {
    c.header("Allow", [...new Set(allowed)].join(", "));
    throw new ApiError("method_not_allowed", `${c.req.method} is not allowed on ${c.req.path}`);
  }
  throw new ApiError("not_found", `no route for ${c.req.method} ${c.req.path}`);
});

const CODE_BY_STATUS: Record<number, ErrorCode> = {
  400: "bad_request",
  401: "unauthorized",
  404: "not_found",
  413: "payload_too_large",
  415: "unsupported_media_type",
};

app.onError((err, c) => {
  let apiErr: ApiError;
  if (err instanceof ApiError) apiErr = err;
  else if (err instanceof HTTPException && err.status < 500) apiErr = new ApiError(CODE_BY_STATUS[err.status] ?? "bad_request", err.message || "bad request");
  else {
    // Log the failure, answer without its stack or message: it may carry internals.
    console.error(JSON.stringify({ at: "api", requestId: c.var.requestId, error: err instanceof Error ? err.stack : String(err) }));
    apiErr = new ApiError("internal", "internal error; the requestId identifies it in the logs");
  }
  const body = { error: { code: apiErr.code, message: apiErr.message, details: apiErr.details, requestId: c.var.requestId } };
  return c.json(body, apiErr.status as ContentfulStatusCode);
});
