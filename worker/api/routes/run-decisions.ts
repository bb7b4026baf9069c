/**
 * /api/v1/runs/:id/approval and /api/v1/runs/:id/answer: a person settles what a `waiting` run waits
 * for. The decision is one conditional update (db/waits.ts): a second decision, a decision for a run that
 * waits for nothing, or one after the wait expired is a 409 that says which; the run goes back to its
 * agent, which finishes the waiting turn with the decision (the approved call runs once).
 */
import { createRoute, type z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { Db } from "../../db/client";
import { presentRun } from "../../db/present";
import { getRun } from "../../db/runs";
import type { RunRow, WaitRow } from "../../db/schema";
import { type Decision, decideWait, lastWaitOf } from "../../db/waits";
import { resumeDecidedRun } from "../../scheduler/dispatch";
import { errorResponses, IdParam } from "../common";
import { ApiError } from "../errors";
import { type App, jsonContent, newRouter } from "../router";
import { Answer, ApprovalDecision, ErrorBody, Run } from "../schemas";
import { runOr404 } from "./runs";
import { iso } from "../../lib/iso";

const tags = ["runs"];
const responses = {
  202: jsonContent(Run, "Decided: the run goes on (pending until its agent resumes it)"),
  ...errorResponses,
  409: jsonContent(ErrorBody, "The run waits for nothing of this kind, the wait was decided already, or it expired"),
};

/** Why a decision was refused, from the run and its newest wait. */
export function refusal(runId: string, status: string, last: WaitRow | null, kind: Decision["kind"], now = Date.now()): string {
  // An expired wait says so, also once the tick has resumed the run.
  if (last?.kind === kind && last.outcome === "expired")
    return `wait ${last.id} expired at ${iso(last.expiresAt)}: the call counted as denied and the run went on`;
  if (status !== "waiting") return `run ${runId} is ${status}: it waits for nothing`;
  if (!last || last.kind !== kind)
    return kind === "approval"
      ? `run ${runId} waits for an answer, not an approval: POST /runs/${runId}/answer`
      : `run ${runId} waits for an approval, not an answer`;
  if (last.outcome) return `wait ${last.id} was decided already (${last.outcome})`;
  if (last.expiresAt <= now) return `wait ${last.id} expired at ${iso(last.expiresAt)}: the call counts as denied`;
  return `wait ${last.id} could not be decided`;
}

/** Decides for the run, resumes it, and answers 202 with the run; the shared path of the API and the one-click page. */
export async function decide(c: Context<App>, db: Db, run: Pick<RunRow, "id" | "goalId">, d: Decision): Promise<{ ok: true } | { ok: false; why: string }> {
  const decided = await decideWait(db, run.id, d);
  if (!decided) {
    const [now, last] = await Promise.all([getRun(db, run.id), lastWaitOf(db, run.id)]);
    return { ok: false, why: refusal(run.id, now?.status ?? "deleted", last, d.kind) };
  }
  await resumeDecidedRun(c.env, run, (p) => c.executionCtx.waitUntil(p));
  return { ok: true };
}

async function answer(c: Context<App>, id: string, d: Omit<Decision, "via">) {
  const db = c.var.db;
  const run = await runOr404(db, id);
  const r = await decide(c, db, run, { ...d, via: "api" });
  if (!r.ok) throw new ApiError("conflict", r.why);
  return presentRun((await getRun(db, run.id)) ?? run, true, null) as z.infer<typeof Run>;
}

export const runDecisions = newRouter()
  .openapi(
    createRoute({
      method: "post",
      path: "/{id}/approval",
      tags,
      summary: "Approve or deny the tool call a waiting run waits for",
      request: { params: IdParam, body: { content: { "application/json": { schema: ApprovalDecision } }, required: true } },
      responses,
    }),
    async (c) => {
      const { decision, note } = c.req.valid("json");
      const outcome = decision === "approve" ? "approved" : "denied";
      return c.json(await answer(c, c.req.valid("param").id, { kind: "approval", outcome, response: note ?? null }), 202);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/{id}/answer",
      tags,
      summary: "Answer the question a waiting run asks (ask_user)",
      request: { params: IdParam, body: { content: { "application/json": { schema: Answer } }, required: true } },
      responses,
    }),
    async (c) => c.json(await answer(c, c.req.valid("param").id, { kind: "question", outcome: "answered", response: c.req.valid("json").text }), 202),
  );
