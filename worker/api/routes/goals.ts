/** /api/v1/goals */
import { createRoute } from "@hono/zod-openapi";
import { cancelGoalRuns } from "../../agent/cancel";
import type { Db } from "../../db/client";
import { deleteGoalRows, getGoal, insertGoal, listGoals, updateGoal } from "../../db/goals";
import type { GoalRow } from "../../db/schema";
import { goalMonth } from "../../db/spend";
import { deleteGoalFiles } from "../../lib/artifacts";
import { isId } from "../../lib/ids";
import { startRunNow } from "../../scheduler/dispatch";
import { errorResponses, IdempotencyHeader, IdParam, idempotencyResponses } from "../common";
import { checkGoalInput } from "../goal-checks";
import { ApiError, notFound } from "../errors";
import { presentGoal, presentRun } from "../../db/present";
import { jsonContent, newRouter } from "../router";
import { CreateGoal, ErrorBody, Goal, ListGoalsQuery, listOf, Run, RunGoalRequest, UpdateGoal } from "../schemas";

export async function goalOr404(db: Db, id: string): Promise<GoalRow> {
  const goal = isId("goal", id) ? await getGoal(db, id) : undefined;
  if (!goal) throw notFound("goal", id);
  return goal;
}

const tags = ["goals"];
const body = <T>(schema: T) => ({ body: { content: { "application/json": { schema } }, required: true } });
const conflict = { 409: jsonContent(ErrorBody, "The goal is archived") };
const goalAction = (path: string, summary: string) =>
  createRoute({
    method: "post",
    path,
    tags,
    summary,
    request: { params: IdParam },
    responses: { 200: jsonContent(Goal, summary), ...errorResponses, ...conflict },
  });

export const goals = newRouter()
  .openapi(
    createRoute({
      method: "post",
      path: "/",
      tags,
      summary: "Create a goal",
      request: { headers: IdempotencyHeader, ...body(CreateGoal) },
      responses: { 201: jsonContent(Goal, "The created goal"), ...errorResponses, ...idempotencyResponses },
    }),
    async (c) => {
      const input = c.req.valid("json");
      await checkGoalInput(c.env, c.var.db, input);
      return c.json(presentGoal(await insertGoal(c.var.db, input)), 201);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/",
      tags,
      summary: "List goals, newest first",
      request: { query: ListGoalsQuery },
      responses: { 200: jsonContent(listOf(Goal), "A page of goals"), ...errorResponses },
    }),
    async (c) => {
      const page = await listGoals(c.var.db, c.req.valid("query"));
      return c.json({ items: page.items.map((g) => presentGoal(g, 1)), nextCursor: page.nextCursor }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/{id}",
      tags,
      summary: "Get a goal with its next fire times, spending this month and readiness",
      request: { params: IdParam },
      responses: { 200: jsonContent(Goal, "The goal"), ...errorResponses },
    }),
    async (c) => {
      const goal = await goalOr404(c.var.db, c.req.valid("param").id);
      return c.json({ ...presentGoal(goal), ...(await goalMonth(c.var.db, goal, c.env.MONTHLY_BUDGET_USD)) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "patch",
      path: "/{id}",
      tags,
      summary: "Update a goal (a new schedule or status recomputes the next run)",
      request: { params: IdParam, ...body(UpdateGoal) },
      responses: { 200: jsonContent(Goal, "The updated goal"), ...errorResponses },
    }),
    async (c) => {
      const patch = c.req.valid("json");
      await checkGoalInput(c.env, c.var.db, patch);
      const goal = await goalOr404(c.var.db, c.req.valid("param").id);
      return c.json(presentGoal(await updateGoal(c.var.db, goal, patch)), 200);
    },
  )
  .openapi(
    createRoute({
      method: "delete",
      path: "/{id}",
      tags,
      summary: "Delete a goal with its runs, steps, outputs, memories and files (its unfinished runs are cancelled first)",
      request: { params: IdParam },
      responses: { 204: { description: "Deleted" }, ...errorResponses },
    }),
    async (c) => {
      const goal = await goalOr404(c.var.db, c.req.valid("param").id);
      // Stop the goal's runs first: a run left going would keep calling the LLM and could write new
      // files under the prefix deleted below.
      await cancelGoalRuns(c.env, c.var.db, goal.id);
      await deleteGoalRows(c.var.db, goal.id);
      await deleteGoalFiles(c.env.ARTIFACTS, goal.id);
      return c.body(null, 204);
    },
  )
  .openapi(goalAction("/{id}/pause", "Pause a goal: it stops firing"), async (c) => {
    const goal = await goalOr404(c.var.db, c.req.valid("param").id);
    if (goal.status === "archived") throw new ApiError("conflict", `goal ${goal.id} is archived`);
    return c.json(presentGoal(await updateGoal(c.var.db, goal, { status: "paused" })), 200);
  })
  .openapi(goalAction("/{id}/resume", "Resume a goal: the next fire time is computed from now"), async (c) => {
    const goal = await goalOr404(c.var.db, c.req.valid("param").id);
    if (goal.status === "archived") throw new ApiError("conflict", `goal ${goal.id} is archived`);
    return c.json(presentGoal(await updateGoal(c.var.db, goal, { status: "active" })), 200);
  })
  .openapi(
    createRoute({
      method: "post",
      path: "/{id}/run",
      tags,
      summary: "Run a goal now: answers with the pending run (or, under the goal's overlap policy `skip` while a run is active, the skipped run)",
      request: { params: IdParam, headers: IdempotencyHeader, body: { content: { "application/json": { schema: RunGoalRequest } }, required: false } },
      responses: {
        202: jsonContent(Run, "The new run"),
        ...errorResponses,
        ...conflict,
        413: jsonContent(ErrorBody, "The input is over 64 KB"),
        ...idempotencyResponses,
      },
    }),
    async (c) => {
      const id = c.req.valid("param").id;
      // The body limit of /api (64 KB) bounds the input: a larger one is a 413 before it gets here.
      const { input } = c.req.valid("json");
      if (!isId("goal", id)) throw notFound("goal", id);
      const started = await startRunNow(c.env, c.var.db, id, { trigger: "manual", input }, Date.now(), (work) => c.executionCtx.waitUntil(work));
      if ("refused" in started) throw started.refused === "goal_not_found" ? notFound("goal", id) : new ApiError("conflict", `goal ${id} is archived`);
      return c.json(presentRun(started.run, true), 202);
    },
  );
