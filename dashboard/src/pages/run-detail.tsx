/**
 * One run: status and figures, what it waits for (approve / deny / answer), the plan, the timeline, each step's
 * thought, tool, input and observation (as text, long ones folded), the summary as sanitised markdown, outputs
 * and files. While the run is going it follows the run's event stream and updates in place.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { isTerminal } from "../../../worker/domain/vocabulary";
import { Timeline } from "../components/timeline";
import { Badge, Failure, Folded, LazyDetails, Loading } from "../components/ui";
import { PlanList, WaitingPanel } from "../components/waiting";
import { get, messageOf, post } from "../lib/api";
import { downloadFile } from "../lib/download";
import { count, duration, local, runDuration, usd } from "../lib/format";
import { Markdown } from "../lib/markdown";
import { navigate } from "../lib/router";
import { followRun } from "../lib/run-stream";
import type { Output, Page, Plan, RunDetail as RunT, Step } from "../lib/types";

/** The agent's read_more window (worker/agent/context-window.ts OBSERVATION_CAP): long text unfolds in the same steps. */
const WINDOW = 6000;

async function allSteps(runId: string, signal: AbortSignal): Promise<Step[]> {
  let out: Step[] = [];
  let cursor: string | null = null;
  do {
    const page: Page<Step> = await get<Page<Step>>(`/runs/${runId}/steps?limit=500${cursor ? `&cursor=${cursor}` : ""}`, signal);
    out = out.concat(page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return out;
}

function StepCard({ s, goalId }: { s: Step; goalId: string }) {
  return (
    <li id={`step-${s.stepNo}`} class={s.error ? "step failed" : "step"} tabIndex={-1}>
      <h3>
        Step {s.stepNo}: <code>{s.toolName ?? "answer"}</code>{" "}
        <span class="muted small">
          {duration(s.durationMs)}
          {s.tokens.total ? ` · ${count(s.tokens.total)} tokens · ${usd(s.costUsd)}` : ""}
        </span>
      </h3>
      {s.thought && <Folded label={`Thought of step ${s.stepNo}`} text={s.thought} size={WINDOW} />}
      {s.toolInput !== null && (
        <LazyDetails summary="Input">
          {() => <Folded label={`Input of step ${s.stepNo}`} text={JSON.stringify(s.toolInput, null, 2)} size={WINDOW} />}
        </LazyDetails>
      )}
      {s.error && (
        <p class="error">
          <strong>Error:</strong> {s.error}
        </p>
      )}
      {s.observation !== null && (
        <LazyDetails summary={`Observation (${s.observation.length.toLocaleString()} characters)`} open={s.observation.length < 600}>
          {() => <Folded label={`Observation of step ${s.stepNo}`} text={s.observation!} size={WINDOW} />}
        </LazyDetails>
      )}
      {s.toolName === "write_file" && typeof (s.toolInput as { path?: unknown })?.path === "string" && !s.error && (
        <button type="button" class="link" onClick={() => downloadFile(goalId, (s.toolInput as { path: string }).path)}>
          Download {(s.toolInput as { path: string }).path}
        </button>
      )}
    </li>
  );
}

function Outputs({ outputs, goalId }: { outputs: Output[]; goalId: string }) {
  const [error, setError] = useState<string | null>(null);
  const shown = outputs.filter((o) => o.kind !== "summary");
  if (!shown.length) return null;
  return (
    <section>
      <h2>Outputs</h2>
      {error && <p class="error">{error}</p>}
      <ul class="outputs">
        {shown.map((o) => (
          <li key={o.id}>
            <span class="badge">{o.kind}</span>{" "}
            {o.kind === "file" && o.path ? (
              <button type="button" class="link" onClick={() => downloadFile(goalId, o.path!).catch((e) => setError(messageOf(e)))}>
                {o.path}
              </button>
            ) : (
              <Folded label={`${o.kind} output`} text={JSON.stringify(o.payload, null, 2)} size={2000} />
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}

export function RunDetail({ id }: { id: string }) {
  const [run, setRun] = useState<RunT | null>(null);
  const [steps, setSteps] = useState<Step[]>([]);
  const [outputs, setOutputs] = useState<Output[]>([]);
  const [error, setError] = useState<unknown>();
  const [live, setLive] = useState(false);
  const [actionError, setActionError] = useState<string | null>(null);
  const [reload, setReload] = useState(0);
  const pending = useRef<Step[]>([]);

  useEffect(() => {
    const ctrl = new AbortController();
    const { signal } = ctrl;
    const refetchRun = () => get<RunT>(`/runs/${id}`, signal).then(setRun, () => {});
    const refetchOutputs = () =>
      get<Page<Output>>(`/runs/${id}/outputs`, signal).then(
        (p) => setOutputs(p.items),
        () => {},
      );
    (async () => {
      const [r, s] = await Promise.all([get<RunT>(`/runs/${id}`, signal), allSteps(id, signal)]);
      setRun(r);
      setSteps(s);
      refetchOutputs();
      if (isTerminal(r.status)) return;
      // Steps arrive one event each: they are applied once per frame, not one render per event.
      let frame = 0;
      const flush = () => {
        frame = 0;
        const add = pending.current.splice(0);
        setSteps((old) => {
          const byNo = new Map(old.map((x) => [x.stepNo, x]));
          for (const x of add) byNo.set(x.stepNo, x);
          return [...byNo.values()].sort((a, b) => a.stepNo - b.stepNo);
        });
      };
      const last = s.at(-1)?.stepNo;
      await followRun(
        id,
        ({ event, data }) => {
          if (event === "step") {
            pending.current.push(data as Step);
            if (!frame) frame = requestAnimationFrame(flush);
          } else if (event === "plan") setRun((old) => (old ? { ...old, plan: data as Plan } : old));
          else if (event.startsWith("run.")) {
            // run.started / run.waiting / run.resumed / the end: the run as it is now (waitingFor needs the full read).
            setRun((old) => ({ ...old, ...(data as RunT) }));
            if (event === "run.waiting" || event === "run.resumed") refetchRun();
            if (event === "run.completed" || event === "run.failed" || event === "run.cancelled") refetchRun(), refetchOutputs();
          }
        },
        signal,
        // Each (re)connection reads the run again: while the stream was down it may have been decided, resumed
        // or ended (a new stream tells a wait, not the resume of one it never told).
        (connected) => {
          setLive(connected);
          if (connected) refetchRun();
        },
        last === undefined ? null : String(last),
      );
    })().catch((e) => !signal.aborted && setError(e));
    return () => ctrl.abort();
  }, [id, reload]);

  if (error && !run) return <Failure error={error} />;
  if (!run) return <Loading what="Loading the run" />;
  const active = !isTerminal(run.status);
  const act = async (work: () => Promise<void>) => {
    setActionError(null);
    try {
      await work();
    } catch (e) {
      setActionError(messageOf(e));
    }
  };
  const cancel = () => act(async () => setRun({ ...run, ...(await post<RunT>(`/runs/${run.id}/cancel`)) }));
  const again = () =>
    act(async () => {
      const r = await post<RunT>(`/goals/${run.goalId}/run`, run.input === null || run.input === undefined ? {} : { input: run.input });
      navigate(`/runs/${r.id}`);
    });

  return (
    <section>
      <p class="crumbs">
        <a href={`/goals/${run.goalId}`}>Goal {run.goalId.slice(-8)}</a> / run {run.id}
      </p>
      <h1>
        Run <Badge status={run.status} />
        {active && <span class={live ? "live on" : "live"}>{live ? "live" : "connecting…"}</span>}
      </h1>
      <dl class="kv figures">
        <dt>Trigger</dt>
        <dd>{run.trigger}</dd>
        <dt>Started</dt>
        <dd>{local(run.startedAt)}</dd>
        <dt>Duration</dt>
        <dd>{duration(runDuration(run))}</dd>
        <dt>Steps</dt>
        <dd>
          {run.stepsExecuted}/{run.stepBudget}
        </dd>
        <dt>Tokens</dt>
        <dd>{count(run.tokens.total)}</dd>
        <dt>Cost</dt>
        <dd>{usd(run.costUsd)}</dd>
        <dt>Model</dt>
        <dd>{run.model ?? "—"}</dd>
        {run.endReason && (
          <>
            <dt>Ended</dt>
            <dd>{run.endReason.replace("_", " ")}</dd>
          </>
        )}
      </dl>
      <div class="actions">
        {active && (
          <button type="button" class="danger" onClick={cancel}>
            Cancel run
          </button>
        )}
        {!active && (
          <button type="button" class="secondary" onClick={again}>
            Run again
          </button>
        )}
      </div>
      {actionError && <Failure error={actionError} />}
      {run.error && (
        <p class="error">
          <strong>Failed:</strong> {run.error}
        </p>
      )}
      {run.status === "waiting" && run.waitingFor && <WaitingPanel runId={run.id} waiting={run.waitingFor} onDone={() => setReload(reload + 1)} />}
      {run.plan && <PlanList plan={run.plan} />}
      {run.summary && (
        <section class="card summary" aria-labelledby="summary-title">
          <h2 id="summary-title">Summary</h2>
          <Markdown text={run.summary} />
        </section>
      )}
      <Outputs outputs={outputs} goalId={run.goalId} />
      <h2>Timeline</h2>
      <Timeline steps={steps} runStart={run.startedAt} runEnd={run.endedAt} />
      <h2>Steps</h2>
      <ol class="steps" data-testid="steps">
        {steps.map((s) => (
          <StepCard key={s.stepNo} s={s} goalId={run.goalId} />
        ))}
      </ol>
      {run.input !== null && run.input !== undefined && (
        <details>
          <summary>Input of this run</summary>
          <Folded label="Run input" text={typeof run.input === "string" ? run.input : JSON.stringify(run.input, null, 2)} size={WINDOW} />
        </details>
      )}
    </section>
  );
}
