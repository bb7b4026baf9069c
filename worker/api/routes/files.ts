/** /api/v1/goals/:id/files: the files a goal's runs wrote to R2 (list, and download one). */
import { createRoute, z } from "@hono/zod-openapi";
import { goalPrefix } from "../../lib/artifacts";
import { contentTypeFor, FilePathError, normalizePath } from "../../lib/file-paths";
import { errorResponses, IdParam } from "../common";
import { ApiError, notFound } from "../errors";
import { iso } from "../../lib/iso";
import { jsonContent, newRouter } from "../router";
import { GoalFile, ListFilesQuery, listOf } from "../schemas";
import { goalOr404 } from "./goals";

const tags = ["files"];

function pathOr400(raw: string, allowEmpty = false): string {
  try {
    return normalizePath(raw, { allowEmpty });
  } catch (e) {
    if (e instanceof FilePathError) throw new ApiError("bad_request", `invalid path: ${e.message}`);
    throw e;
  }
}

export const files = newRouter().openapi(
  createRoute({
    method: "get",
    path: "/{id}/files",
    tags,
    summary: "List the goal's files",
    request: { params: IdParam, query: ListFilesQuery },
    responses: { 200: jsonContent(listOf(GoalFile), "A page of files, by path"), ...errorResponses },
  }),
  async (c) => {
    const goal = await goalOr404(c.var.db, c.req.valid("param").id);
    const q = c.req.valid("query");
    const base = goalPrefix(goal.id);
    const rel = q.prefix ? pathOr400(q.prefix, true) + (q.prefix.endsWith("/") ? "/" : "") : "";
    const page = await c.env.ARTIFACTS.list({ prefix: base + rel.replace(/^\/$/, ""), limit: q.limit, cursor: q.cursor, include: ["httpMetadata"] });
    const items = page.objects.map((o) => ({
      path: o.key.slice(base.length),
      size: o.size,
      contentType: o.httpMetadata?.contentType ?? null,
      uploadedAt: iso(o.uploaded.getTime()),
    }));
    return c.json({ items, nextCursor: page.truncated ? page.cursor : null }, 200);
  },
);

// A path with slashes cannot be an OpenAPI path parameter: this route is plain Hono, documented below.
files.get("/:id/files/*", async (c) => {
  const goal = await goalOr404(c.var.db, c.req.param("id"));
  // The raw (still percent-encoded) path, decoded exactly once: %2e%2e cannot slip past the check.
  const pathname = new URL(c.req.url).pathname;
  const marker = `/files/`;
  let raw: string;
  try {
    raw = decodeURIComponent(pathname.slice(pathname.indexOf(marker) + marker.length));
  } catch {
    throw new ApiError("bad_request", "invalid percent-encoding in the file path");
  }
  const rel = pathOr400(raw);
  const obj = await c.env.ARTIFACTS.get(goalPrefix(goal.id) + rel);
  if (!obj) throw notFound("file", rel);
  const headers = new Headers({
    "content-type": obj.httpMetadata?.contentType ?? contentTypeFor(rel),
    "content-length": String(obj.size),
    etag: obj.httpEtag,
    // Files are written by the agent from web content: never let a browser run them on this origin.
    "content-security-policy": "sandbox; default-src 'none'",
    "x-content-type-options": "nosniff",
    "content-disposition": `inline; filename*=UTF-8''${encodeURIComponent(rel.split("/").at(-1)!)}`,
  });
  return new Response(obj.body, { headers });
});

files.openAPIRegistry.registerPath({
  method: "get",
  path: "/{id}/files/{path}",
  tags,
  summary: "Download one of the goal's files (path may contain slashes), with its content type",
  request: { params: IdParam.extend({ path: z.string().describe("File path, e.g. reports/2026-11-25.md") }) },
  responses: { 200: { description: "The file's bytes" }, ...errorResponses },
});
