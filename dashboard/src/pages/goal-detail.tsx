/** One goal: what it does and when, its actions (edit, pause/resume, run now, delete), its runs and files. */
import { useState } from "preact/hooks";
import { Dialog } from "../components/dialog";
import { RunsTable } from "../components/runs-table";
import { TriggerCard } from "../components/trigger-card";
import { Badge, Failure, FireTimes, Loading, useData } from "../components/ui";
import { del, get, messageOf, post } from "../lib/api";
import { downloadFile } from "../lib/download";
import { local, scheduleWords, usd } from "../lib/format";
import { forgetRecentRuns } from "../lib/recent-runs";
import { navigate } from "../lib/router";
import type { Goal, GoalFile, Page, Run } from "../lib/types";

/** The run input as typed: a JSON object when it parses as one, otherwise the text itself. */
function inputOf(text: string): string | Record<string, unknown> | undefined {
  const t = text.trim();
  if (!t) return undefined;
  try {
    const v = JSON.parse(t);
    if (v && typeof v === "object" && !Array.isArray(v)) return v;
  } catch {}
  return text;
}

function Files({ goalId }: { goalId: string }) {
  const files = useData((signal) => get<Page<GoalFile>>(`/goals/${goalId}/files?limit=100`, signal), [goalId]);
  const [error, setError] = useState<string | null>(null);
  if (files.error) return <Failure error={files.error} />;
  if (!files.data) return <Loading what="Loading files" />;
  if (!files.data.items.length) return <p class="muted">No files yet: runs write them with the write_file tool.</p>;
  return (
    <>
      {error && <p class="error">{error}</p>}
      <ul class="files">
        {files.data.items.map((f) => (
          <li key={f.path}>
            <button type="button" class="link" onClick={() => downloadFile(goalId, f.path).catch((e) => setError(messageOf(e)))}>
              {f.path}
            </button>{" "}
            <span class="muted small">
              {f.size.toLocaleString()} bytes · {local(f.uploadedAt)}
            </span>
          </li>
        ))}
      </ul>
    </>
  );
}

export function GoalDetail({ id }: { id: string }) {
  const goal = useData((signal) => get<Goal>(`/goals/${encodeURIComponent(id)}`, signal), [id]);
  const [dialog, setDialog] = useState<"run" | "delete" | null>(null);
  const [input, setInput] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [refresh, setRefresh] = useState(0);
  if (goal.error && !goal.data) return <Failure error={goal.error} />;
  const g = goal.data;
  if (!g) return <Loading />;

  const act = async (work: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await work();
    } catch (e) {
      setError(messageOf(e));
    } finally {
      setBusy(false);
    }
  };
  const pauseOrResume = () =>
    act(async () => {
      goal.set({ ...g, ...(await post<Goal>(`/goals/${g.id}/${g.status === "paused" ? "resume" : "pause"}`)) });
    });
  const runNow = () =>
    act(async () => {
      const value = inputOf(input);
      const run = await post<Run>(`/goals/${g.id}/run`, value === undefined ? {} : { input: value });
      forgetRecentRuns(g.id);
      setDialog(null);
      navigate(`/runs/${run.id}`);
    });
  const remove = () =>
    act(async () => {
      await del(`/goals/${g.id}`);
      forgetRecentRuns(g.id);
      navigate("/");
    });
  const p = g.params as Record<string, unknown>;

  return (
    <section>
      <p class="crumbs">
        <a href="/">Goals</a> / {g.id}
      </p>
      <h1 class="objective">{g.objective}</h1>
      <p>
        <Badge status={g.status} /> {scheduleWords(g.schedule)}
      </p>
      <div class="actions">
        <button type="button" onClick={() => setDialog("run")} disabled={busy || g.status === "archived"}>
          Run now
        </button>
        <button type="button" class="secondary" onClick={pauseOrResume} disabled={busy || g.status === "archived"}>
          {g.status === "paused" ? "Resume" : "Pause"}
        </button>
        <a class="button secondary" href={`/goals/${g.id}/edit`}>
          Edit
        </a>
        <button type="button" class="danger" onClick={() => setDialog("delete")} disabled={busy}>
          Delete
        </button>
      </div>
      {error && !dialog && <Failure error={error} />}
      <div class="cards">
        <div class="card">
          <h2>Next fire times</h2>
          {g.status !== "active" || !g.nextFireTimes.length ? (
            <p class="muted">{g.status === "paused" ? "Paused: it does not fire." : "None."}</p>
          ) : (
            <FireTimes times={g.nextFireTimes} />
          )}
        </div>
        <div class="card">
          <h2>This month</h2>
          {g.usage ? (
            <p>
              {usd(g.usage.costUsd)} · {g.usage.tokens.toLocaleString()} tokens
              {typeof p.monthlyBudgetUsd === "number" && ` of ${usd(p.monthlyBudgetUsd)}`}
            </p>
          ) : (
            <p class="muted">—</p>
          )}
          {g.readiness && !g.readiness.ready && <p class="error">{g.readiness.reason}</p>}
        </div>
        <div class="card">
          <h2>Settings</h2>
          <dl class="kv">
            <dt>Webhook</dt>
            <dd>{g.webhookUrl ?? "—"}</dd>
            <dt>Steps per run</dt>
            <dd>{String(p.stepBudget ?? "default")}</dd>
            <dt>Tools</dt>
            <dd>{Array.isArray(p.allowedTools) ? p.allowedTools.join(", ") : "all configured"}</dd>
            {Array.isArray(p.requireApproval) && (
              <>
                <dt>Approval for</dt>
                <dd>{p.requireApproval.join(", ")}</dd>
              </>
            )}
          </dl>
        </div>
      </div>
      <TriggerCard goalId={g.id} />
      <h2>Runs</h2>
      <RunsTable goalId={g.id} refresh={refresh} />
      <button type="button" class="link" onClick={() => setRefresh(refresh + 1)}>
        Refresh runs
      </button>
      <h2>Files</h2>
      <Files goalId={g.id} />

      <Dialog open={dialog === "run"} title="Run now" onClose={() => setDialog(null)}>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            runNow();
          }}
        >
          <div class="field">
            <label for="run-input">Input (optional: text, or a JSON object)</label>
            <textarea id="run-input" rows={4} value={input} onInput={(e) => setInput(e.currentTarget.value)} />
          </div>
          {/* The page behind a modal is inert: a refusal (a 413 for a large input, a 409) is told here. */}
          {error && <Failure error={error} />}
          <div class="actions">
            <button type="submit" disabled={busy}>
              Start run
            </button>
            <button type="button" class="secondary" onClick={() => setDialog(null)}>
              Cancel
            </button>
          </div>
        </form>
      </Dialog>
      <Dialog open={dialog === "delete"} title="Delete this goal?" onClose={() => setDialog(null)}>
        <p>Its runs are cancelled, and its runs, steps, outputs, memories and files are deleted. This cannot be undone.</p>
        {error && <Failure error={error} />}
        <div class="actions">
          <button type="button" class="danger" onClick={remove} disabled={busy}>
            Delete goal
          </button>
          <button type="button" class="secondary" onClick={() => setDialog(null)}>
            Keep it
          </button>
        </div>
      </Dialog>
    </section>
  );
}
