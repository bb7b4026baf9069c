/** /api/v1/runs */
import { createRoute } from "@hono/zod-openapi";
import type { Db } from "../../db/client";
import { deleteRunRows, getRun, listOutputs, listRuns } from "../../db/runs";
import { listSteps } from "../../db/steps";
import { openWaitOf } from "../../db/waits";
import type { RunRow } from "../../db/schema";
import { isTerminal } from "../../domain/vocabulary";
import { isId } from "../../lib/ids";
import { errorResponses, IdParam } from "../common";
import { ApiError, notFound } from "../errors";
import { presentOutput, presentRun, presentStep } from "../../db/present";
import { jsonContent, newRouter } from "../router";
import { ErrorBody, ListRunsQuery, ListStepsQuery, listOf, Output, Run, Step } from "../schemas";

export async function runOr404(db: Db, id: string): Promise<RunRow> {
  const run = isId("run", id) ? await getRun(db, id) : undefined;
  if (!run) throw notFound("run", id);
  return run;
}

const tags = ["runs"];

export const runs = newRouter()
  .openapi(
    createRoute({
      method: "get",
      path: "/",
      tags,
      summary: "List runs, newest first",
      request: { query: ListRunsQuery },
      responses: { 200: jsonContent(listOf(Run), "A page of runs"), ...errorResponses },
    }),
    async (c) => {
      const page = await listRuns(c.var.db, c.req.valid("query"));
      return c.json({ items: page.items.map((r) => presentRun(r)), nextCursor: page.nextCursor }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/{id}",
      tags,
      summary: "Get a run",
      request: { params: IdParam },
      responses: { 200: jsonContent(Run, "The run"), ...errorResponses },
    }),
    async (c) => {
      const run = await runOr404(c.var.db, c.req.valid("param").id);
      // Only a waiting run reads its wait (and shows `waitingFor`): every other run answers with one query.
      return c.json(presentRun(run, true, run.status === "waiting" ? await openWaitOf(c.var.db, run.id) : undefined), 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/{id}/steps",
      tags,
      summary: "The run's steps in order",
      request: { params: IdParam, query: ListStepsQuery },
      responses: { 200: jsonContent(listOf(Step), "A page of steps"), ...errorResponses },
    }),
    async (c) => {
      const run = await runOr404(c.var.db, c.req.valid("param").id);
      const { cursor, limit } = c.req.valid("query");
      const afterStep = cursor === undefined ? undefined : Number(cursor);
      if (afterStep !== undefined && !Number.isInteger(afterStep)) throw new ApiError("validation_error", "cursor: expected a step number");
      const page = await listSteps(c.var.db, run.id, { afterStep, limit });
      return c.json({ items: page.items.map(presentStep), nextCursor: page.nextCursor }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/{id}/outputs",
      tags,
      summary: "What the run produced: summary, files, webhooks, emails",
      request: { params: IdParam },
      responses: { 200: jsonContent(listOf(Output), "The run's outputs"), ...errorResponses },
    }),
    async (c) => {
      const run = await runOr404(c.var.db, c.req.valid("param").id);
      const items = await listOutputs(c.var.db, run.id);
      return c.json({ items: items.map(presentOutput), nextCursor: null }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "delete",
      path: "/{id}",
      tags,
      summary: "Delete a finished run with its steps and outputs",
      request: { params: IdParam },
      responses: { 204: { description: "Deleted" }, ...errorResponses, 409: jsonContent(ErrorBody, "The run is still running") },
    }),
    async (c) => {
      const run = await runOr404(c.var.db, c.req.valid("param").id);
      if (!isTerminal(run.status) && run.status !== "pending") throw new ApiError("conflict", `run ${run.id} is ${run.status}: cancel it first`);
      await deleteRunRows(c.var.db, run.id);
      return c.body(null, 204);
    },
  );
