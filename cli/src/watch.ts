/**
 * `run watch`: the live view of a run, from its SSE stream. Ctrl-C stops watching, not the run. A run
 * that waits for a person shows what it waits for and the command that decides, and is watched on;
 * its plan is a checklist kept at the bottom of a terminal and redrawn in place as it changes.
 */
import type { Run } from "../../worker/api/schemas";
import { PLAN_EVENT, RUN_RESUMED_EVENT, RUN_STARTED_EVENT, RUN_WAITING_EVENT, STEP_EVENT } from "../../worker/domain/vocabulary";
import type { Ctx } from "./context";
import { EXIT, SilentExit } from "./errors";
import { hint } from "./invocation";
import { LiveBlock } from "./live-block";
import { type RunEvent, runEvents } from "./stream";
import { planLines, runEnd, stepBlock, stepLine, waitingBlock } from "./views";

export type WatchOpts = { after?: number; detail?: boolean };

const jsonOf = (ev: RunEvent) =>
  ev.type === STEP_EVENT ? { event: ev.type, data: ev.step } : ev.type === PLAN_EVENT ? { event: ev.type, data: ev.plan } : { event: ev.type, data: ev.run };
const isEnd = (ev: RunEvent): ev is Extract<RunEvent, { run: Run }> =>
  ev.type !== STEP_EVENT && ev.type !== PLAN_EVENT && ev.type !== RUN_STARTED_EVENT && ev.type !== RUN_WAITING_EVENT && ev.type !== RUN_RESUMED_EVENT;

/** Streams the run until it ends. Exit code 0 when it completed, 1 when it failed or was cancelled. */
export async function watchRun({ p, client }: Ctx, runId: string, opts: WatchOpts = {}): Promise<void> {
  const abort = new AbortController();
  const onSigint = () => abort.abort();
  process.once("SIGINT", onSigint);
  let spinner = p.spinner(`waiting for run ${runId} to start`);
  let nextStep = (opts.after ?? 0) + 1;
  let end: Run | undefined;
  const plan = new LiveBlock(p);
  // What was told last: a reconnected stream sends the current plan and wait again, which is not news
  // (and a long wait reconnects every quarter of an hour). `shownWait` is undefined while the run is not waiting.
  let planAt: string | undefined;
  let shownWait: string | null | undefined;
  let waitStep = Number.POSITIVE_INFINITY;
  try {
    for await (const raw of runEvents(client, runId, { signal: abort.signal, after: opts.after })) {
      if (raw.type === PLAN_EVENT) {
        if (raw.plan.updatedAt === planAt) continue;
        planAt = raw.plan.updatedAt;
      } else if (raw.type === RUN_WAITING_EVENT) {
        if ((raw.run.waitingFor?.id ?? null) === shownWait) continue;
        shownWait = raw.run.waitingFor?.id ?? null;
        waitStep = raw.run.waitingFor?.stepNo ?? Number.POSITIVE_INFINITY;
      } else if (raw.type === RUN_RESUMED_EVENT || (raw.type === STEP_EVENT && raw.step.stepNo >= waitStep)) {
        // The held step recorded means it was decided, even when a reconnect missed run.resumed.
        shownWait = undefined;
        waitStep = Number.POSITIVE_INFINITY;
      }
      if (p.json) {
        p.ndjson(jsonOf(raw));
        if (isEnd(raw)) end = raw.run;
        continue;
      }
      spinner.stop();
      const ev = p.safe(raw);
      if (ev.type === RUN_STARTED_EVENT) {
        if (opts.after === undefined) plan.above(() => p.note(`run ${ev.run.id} · goal ${ev.run.goalId} · budget ${ev.run.stepBudget} steps`));
      } else if (ev.type === STEP_EVENT) {
        plan.above(() => (opts.detail ? stepBlock(p, ev.step) : p.line(stepLine(p, ev.step))));
        nextStep = ev.step.stepNo + 1;
      } else if (ev.type === PLAN_EVENT) {
        plan.show(planLines(p, ev.plan, p.width - 1));
      } else if (ev.type === RUN_WAITING_EVENT) {
        // The decision is what the person needs now: it goes last, under the plan as it stands.
        plan.release();
        if (ev.run.waitingFor) waitingBlock(p, ev.run);
        else p.line(`${p.c.magenta("⚑")} run ${ev.run.id} waits for a person: ${hint(`run show ${ev.run.id}`)}`);
      } else if (ev.type === RUN_RESUMED_EVENT) {
        plan.above(() => p.line(`${p.c.green("▶")} decided: run ${ev.run.id} goes on`));
      } else {
        plan.release();
        end = ev.run;
        runEnd(p, ev.run);
        break;
      }
      // No spinner while waiting: nothing runs until someone decides.
      if (shownWait === undefined) spinner = p.spinner(`step ${nextStep} running…`);
    }
  } finally {
    spinner.stop();
    process.removeListener("SIGINT", onSigint);
  }
  if (abort.signal.aborted) {
    if (shownWait !== undefined) p.note(`stopped watching; the run still waits for you (above). Stop it with: ${hint(`run cancel ${runId}`)}`);
    else p.note(`stopped watching; the run goes on. Stop it with: ${hint(`run cancel ${runId}`)}`);
    throw new SilentExit(EXIT.interrupted);
  }
  if (!end) throw new SilentExit(EXIT.failure);
  if (end.status !== "completed") throw new SilentExit(EXIT.failure);
}
