/**
 * /api/v1/runs/:id/stream and /api/v1/runs/:id/cancel.
 * The stream is built from D1, not from the agent: steps are committed there as they complete, so
 * replay, live updates and reconnects (Last-Event-ID) all read one source of truth, and a stream
 * survives the agent being evicted or resumed. D1 is polled every POLL_MS while the run is live.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { getAgentByName } from "agents";
import { streamSSE } from "hono/streaming";
import { cancelPending, requestCancel } from "../../agent/run-store";
import { getRun, isTerminal, listSteps } from "../../db/runs";
import type { RunRow } from "../../db/schema";
import { notifyRunEnded } from "../../notify/run-ended";
import { errorResponses, IdParam } from "../common";
import { ApiError } from "../errors";
import { presentRun, presentStep } from "../present";
import { jsonContent, newRouter } from "../router";
import { ErrorBody, Run } from "../schemas";
import { runOr404 } from "./runs";

const POLL_MS = 500;
const PING_MS = 15_000;
const tags = ["runs"];

/** The terminal event of a finished run; a skipped run never ran, which reads best as cancelled. */
export const terminalEvent = (s: RunRow["status"]) =>
  s === "completed" ? "run.completed" : s === "failed" ? "run.failed" : "run.cancelled";

export const runLive = newRouter()
  .openapi(
    createRoute({
      method: "get",
      path: "/{id}/stream",
      tags,
      summary: "Server-Sent Events: run.started, step (id = stepNo), then run.completed | run.failed | run.cancelled (id = end)",
      description: "Replays what happened so far, then streams live. Reconnect with Last-Event-ID to get only newer steps.",
      request: { params: IdParam, headers: z.object({ "last-event-id": z.string().max(20).optional() }) },
      responses: { 200: { content: { "text/event-stream": { schema: z.string() } }, description: "The event stream" }, ...errorResponses },
    }),
    async (c) => {
      const db = c.var.db;
      const first = await runOr404(db, c.req.valid("param").id);
      const lastId = c.req.header("last-event-id")?.trim();
      let after = lastId === undefined || lastId === "" ? -1 : Number(lastId);
      if (lastId !== "end" && lastId && !Number.isInteger(after))
        throw new ApiError("validation_error", "Last-Event-ID: expected a step number or \"end\"");
      return streamSSE(c, async (stream) => {
        if (lastId === "end") return;
        if (after < 0) {
          await stream.writeSSE({ event: "run.started", id: "0", data: JSON.stringify(presentRun(first)) });
          after = 0;
        }
        let lastPing = Date.now();
        const flushSteps = async () => {
          for (;;) {
            const page = await listSteps(db, first.id, { afterStep: after, limit: 100 });
            for (const s of page.items) {
              await stream.writeSSE({ event: "step", id: String(s.stepNo), data: JSON.stringify(presentStep(s)) });
              after = s.stepNo;
            }
            if (!page.nextCursor) return;
          }
        };
        while (!stream.aborted) {
          // Read the run before the steps: steps are committed before the run ends, so none is missed.
          const run = await getRun(db, first.id);
          await flushSteps();
          if (!run || isTerminal(run.status)) {
            if (run) await stream.writeSSE({ event: terminalEvent(run.status), id: "end", data: JSON.stringify(presentRun(run)) });
            return;
          }
          if (Date.now() - lastPing > PING_MS) {
            await stream.write(": ping\n\n");
            lastPing = Date.now();
          }
          await stream.sleep(POLL_MS);
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
      request: { params: IdParam },
      responses: { 202: jsonContent(Run, "The run (still running until the agent stops it)"), ...errorResponses, 409: jsonContent(ErrorBody, "The run is already over") },
    }),
    async (c) => {
      const db = c.var.db;
      const run = await runOr404(db, c.req.valid("param").id);
      if (isTerminal(run.status)) throw new ApiError("conflict", `run ${run.id} is already ${run.status}`);
      await requestCancel(db, run.id);
      if (await cancelPending(db, run.id)) {
        c.executionCtx.waitUntil(notifyRunEnded(c.env, run.id));
      } else {
        // Running: abort it now in its agent; the D1 flag stops it anyway if the agent is elsewhere.
        try {
          await (await getAgentByName(c.env.GOAL_AGENT, run.goalId)).cancelRun(run.id);
        } catch (e) {
          console.error(JSON.stringify({ at: "cancel", runId: run.id, error: String(e) }));
        }
      }
      return c.json(presentRun((await getRun(db, run.id)) ?? run), 202);
    },
  );
