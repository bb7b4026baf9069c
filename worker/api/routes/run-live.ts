/**
 * /api/v1/runs/:id/stream and /api/v1/runs/:id/cancel.
 * The stream is built from D1, not from the agent: steps are committed there as they complete, so
 * replay, live updates and reconnects (Last-Event-ID) all read one source of truth, and a stream
 * survives the agent being evicted or resumed.
 *
 * A stream is one Worker invocation, and D1 allows 1,000 queries per invocation (Paid plan): the stream
 * polls with one query while nothing changes (backing off from 0.5 s to 2 s), reads steps only when the run
 * row moved, and closes after STREAM_QUERY_BUDGET queries with a `retry:` hint. Clients reconnect with
 * Last-Event-ID and miss nothing; a 2 s poll makes that about every 13 minutes of an idle run.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { streamSSE } from "hono/streaming";
import { cancelRunNow } from "../../agent/cancel";
import { getRun } from "../../db/runs";
import { listSteps } from "../../db/steps";
import { openWaitOf } from "../../db/waits";
import { endEventOf, isTerminal, PLAN_EVENT, RUN_RESUMED_EVENT, RUN_STARTED_EVENT, RUN_WAITING_EVENT, STEP_EVENT } from "../../domain/vocabulary";
import { notifyRunEnded } from "../../notify/run-ended";
import { errorResponses, IdempotencyHeader, IdParam, idempotencyResponses } from "../common";
import { ApiError } from "../errors";
import { presentRun, presentStep } from "../../db/present";
import { jsonContent, newRouter } from "../router";
import { ErrorBody, Run } from "../schemas";
import { runOr404 } from "./runs";

const POLL_MS = 500;
const MAX_POLL_MS = 2_000;
const PING_MS = 15_000;
const STREAM_QUERY_BUDGET = 400;
const tags = ["runs"];

export const runLive = newRouter()
  .openapi(
    createRoute({
      method: "get",
      path: "/{id}/stream",
      tags,
      summary:
        "Server-Sent Events: run.started, step (id = stepNo), plan, run.waiting / run.resumed, then run.completed | run.failed | run.cancelled (id = end)",
      description: "Replays what happened so far, then streams live. Reconnect with Last-Event-ID to get only newer steps.",
      request: { params: IdParam, headers: z.object({ "last-event-id": z.string().max(20).optional() }) },
      responses: { 200: { content: { "text/event-stream": { schema: z.string() } }, description: "The event stream" }, ...errorResponses },
    }),
    async (c) => {
      const db = c.var.db;
      const first = await runOr404(db, c.req.valid("param").id);
      const lastId = c.req.header("last-event-id")?.trim();
      let after = lastId === undefined || lastId === "" ? -1 : Number(lastId);
      if (lastId !== "end" && lastId && !Number.isInteger(after)) throw new ApiError("validation_error", 'Last-Event-ID: expected a step number or "end"');
      return streamSSE(c, async (stream) => {
        if (lastId === "end") return;
        if (after < 0) {
          await stream.writeSSE({ event: RUN_STARTED_EVENT, id: "0", data: JSON.stringify(presentRun(first)) });
          after = 0;
        }
        let lastPing = Date.now();
        let queries = 0;
        const flushSteps = async () => {
          for (;;) {
            const page = await listSteps(db, first.id, { afterStep: after, limit: 100 });
            queries++;
            for (const s of page.items) {
              await stream.writeSSE({ event: STEP_EVENT, id: String(s.stepNo), data: JSON.stringify(presentStep(s)) });
              after = s.stepNo;
            }
            if (!page.nextCursor) return;
          }
        };
        let seen: number | null = null;
        // What the client was last told of the plan and of waiting (events without an id: a reconnect
        // with Last-Event-ID is told the current plan and wait again, which is what it needs).
        let planAt: number | null = null;
        let waitId: string | null = null;
        let wait = POLL_MS;
        while (!stream.aborted) {
          if (queries >= STREAM_QUERY_BUDGET) {
            await stream.write("retry: 1000\n\n");
            return;
          }
          // Read the run before the steps: steps are committed before (or with) the run row's update.
          const run = await getRun(db, first.id);
          queries++;
          const over = !run || isTerminal(run.status);
          if (over || run.updatedAt !== seen) {
            // The wait it waits for now, by id: between two polls a run can be decided and wait again (two calls
            // of one turn that need approval), which is a resume and a new wait.
            let open = null;
            if (run?.status === "waiting") {
              open = await openWaitOf(db, run.id);
              queries++;
            }
            // In the order they happened: resumed before the steps that followed the decision, the wait after
            // the steps recorded before it.
            if (run && waitId && open?.id !== waitId) {
              waitId = null;
              await stream.writeSSE({ event: RUN_RESUMED_EVENT, data: JSON.stringify(presentRun(run)) });
            }
            await flushSteps();
            seen = run?.updatedAt ?? null;
            wait = POLL_MS;
            if (run?.plan && run.plan.updatedAt !== planAt) {
              planAt = run.plan.updatedAt;
              await stream.writeSSE({ event: PLAN_EVENT, data: JSON.stringify(presentRun(run).plan) });
            }
            if (run && open && open.id !== waitId) {
              waitId = open.id;
              await stream.writeSSE({ event: RUN_WAITING_EVENT, data: JSON.stringify(presentRun(run, false, open)) });
            }
          } else wait = Math.min(wait * 2, MAX_POLL_MS);
          if (over) {
            if (run) await stream.writeSSE({ event: endEventOf(run.status), id: "end", data: JSON.stringify(presentRun(run)) });
            return;
          }
          if (Date.now() - lastPing > PING_MS) {
            await stream.write(": ping\n\n");
            lastPing = Date.now();
          }
          await stream.sleep(wait);
        }
      });
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/{id}/cancel",
      tags,
      summary: "Cancel a run: it stops at its next safe point and ends `cancelled`",
      request: { params: IdParam, headers: IdempotencyHeader },
      responses: {
        202: jsonContent(Run, "The run (still running until the agent stops it)"),
        ...errorResponses,
        409: jsonContent(ErrorBody, "The run is already over"),
        ...idempotencyResponses,
      },
    }),
    async (c) => {
      const db = c.var.db;
      const run = await runOr404(db, c.req.valid("param").id);
      if (isTerminal(run.status)) throw new ApiError("conflict", `run ${run.id} is already ${run.status}`);
      // A pending run is over at once (its notification goes out here); a running one stops in its agent.
      if ((await cancelRunNow(c.env, db, run)) === "cancelled") c.executionCtx.waitUntil(notifyRunEnded(c.env, run.id));
      return c.json(presentRun((await getRun(db, run.id)) ?? run), 202);
    },
  );
