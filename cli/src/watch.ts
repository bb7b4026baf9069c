/** `run watch`: the live view of a run, from its SSE stream. Ctrl-C stops watching, not the run. */
import type { Run } from "../../worker/api/schemas";
import type { Ctx } from "./context";
import { EXIT, SilentExit } from "./errors";
import { hint } from "./invocation";
import { runEvents } from "./stream";
import { runEnd, stepBlock, stepLine } from "./views";

export type WatchOpts = { after?: number; detail?: boolean };

/** Streams the run until it ends. Exit code 0 when it completed, 1 when it failed or was cancelled. */
export async function watchRun({ p, client }: Ctx, runId: string, opts: WatchOpts = {}): Promise<void> {
  const abort = new AbortController();
  const onSigint = () => abort.abort();
  process.once("SIGINT", onSigint);
  let spinner = p.spinner(`waiting for run ${runId} to start`);
  let nextStep = (opts.after ?? 0) + 1;
  let end: Run | undefined;
  try {
    for await (const raw of runEvents(client, runId, { signal: abort.signal, after: opts.after })) {
      if (p.json) {
        p.ndjson(raw.type === "step" ? { event: raw.type, data: raw.step } : { event: raw.type, data: raw.run });
        if (raw.type !== "step" && raw.type !== "run.started") end = raw.run;
        continue;
      }
      spinner.stop();
      const ev = p.safe(raw);
      if (ev.type === "run.started") {
        if (opts.after === undefined) p.note(`run ${ev.run.id} · goal ${ev.run.goalId} · budget ${ev.run.stepBudget} steps`);
      } else if (ev.type === "step") {
        if (opts.detail) stepBlock(p, ev.step);
        else p.line(stepLine(p, ev.step));
        nextStep = ev.step.stepNo + 1;
      } else {
        end = ev.run;
        runEnd(p, ev.run);
        break;
      }
      spinner = p.spinner(`step ${nextStep} running…`);
    }
  } finally {
    spinner.stop();
    process.removeListener("SIGINT", onSigint);
  }
  if (abort.signal.aborted) {
    p.note(`stopped watching; the run goes on. Stop it with: ${hint(`run cancel ${runId}`)}`);
    throw new SilentExit(EXIT.interrupted);
  }
  if (!end) throw new SilentExit(EXIT.failure);
  if (end.status !== "completed") throw new SilentExit(EXIT.failure);
}
