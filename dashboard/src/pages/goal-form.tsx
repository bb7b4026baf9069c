/**
 * Create or edit a goal. The schedule is previewed as it is typed (GET /schedules/preview: the API's own cron
 * and zone checks, so the form never disagrees with the server); everything else is checked by the API on save,
 * and its 400 names the field. Params the form does not show (provider, model, fetch policy …) are kept as they are.
 */
import { useEffect, useMemo, useState } from "preact/hooks";
import type { GoalParams } from "../../../worker/domain/schemas";
import { DEFAULT_STEP_BUDGET, OVERLAP_POLICIES } from "../../../worker/domain/vocabulary";
import { Failure, Field, FireTimes, Loading, useData } from "../components/ui";
import { get, messageOf, patch, post, query } from "../lib/api";
import { navigate } from "../lib/router";
import type { Goal, SchedulePreview, ToolInfo } from "../lib/types";

const zones = (): string[] => {
  const all = (Intl as unknown as { supportedValuesOf?: (k: string) => string[] }).supportedValuesOf?.("timeZone") ?? [];
  return all.includes("UTC") ? all : ["UTC", ...all];
};
const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

type Form = {
  objective: string;
  scheduled: boolean;
  cron: string;
  timezone: string;
  webhookUrl: string;
  stepBudget: string;
  tokenBudget: string;
  timeBudgetSeconds: string;
  monthlyBudgetUsd: string;
  monthlyTokenBudget: string;
  overlap: string;
  allowedTools: string[];
  requireApproval: string[];
  approvalTimeoutSeconds: string;
  emailRecipients: string;
  allowedDomains: string;
  constraints: string;
};

function formOf(g?: Goal): Form {
  const p = (g?.params ?? {}) as GoalParams & { requireApproval?: string[]; approvalTimeoutSeconds?: number };
  const n = (v: number | undefined) => (v === undefined ? "" : String(v));
  return {
    objective: g?.objective ?? "",
    scheduled: g ? !!g.schedule : true,
    cron: g?.schedule?.cron ?? "0 9 * * 1-5",
    timezone: g?.schedule?.timezone ?? browserZone,
    webhookUrl: g?.webhookUrl ?? "",
    stepBudget: n(p.stepBudget),
    tokenBudget: n(p.tokenBudget),
    timeBudgetSeconds: n(p.timeBudgetSeconds),
    monthlyBudgetUsd: n(p.monthlyBudgetUsd),
    monthlyTokenBudget: n(p.monthlyTokenBudget),
    overlap: p.overlap ?? "",
    allowedTools: p.allowedTools ?? [],
    requireApproval: p.requireApproval ?? [],
    approvalTimeoutSeconds: n(p.approvalTimeoutSeconds),
    emailRecipients: (p.emailRecipients ?? []).join(", "),
    allowedDomains: (p.allowedDomains ?? []).join(", "),
    constraints: p.constraints ?? "",
  };
}

/** The params to send: the goal's current ones with the form's fields applied (empty fields removed). */
function paramsOf(f: Form, old: Record<string, unknown>): Record<string, unknown> {
  const p: Record<string, unknown> = { ...old };
  const set = (k: string, v: unknown) => (v === undefined || v === "" || (Array.isArray(v) && !v.length) ? delete p[k] : (p[k] = v));
  const num = (s: string) => (s.trim() === "" ? undefined : Number(s));
  const list = (s: string) =>
    s
      .split(/[\s,]+/)
      .map((x) => x.trim())
      .filter(Boolean);
  set("stepBudget", num(f.stepBudget));
  set("tokenBudget", num(f.tokenBudget));
  set("timeBudgetSeconds", num(f.timeBudgetSeconds));
  set("monthlyBudgetUsd", num(f.monthlyBudgetUsd));
  set("monthlyTokenBudget", num(f.monthlyTokenBudget));
  set("overlap", f.overlap || undefined);
  set("allowedTools", f.allowedTools);
  set("requireApproval", f.requireApproval);
  set("approvalTimeoutSeconds", num(f.approvalTimeoutSeconds));
  set("emailRecipients", list(f.emailRecipients));
  set("allowedDomains", list(f.allowedDomains));
  set("constraints", f.constraints.trim());
  return p;
}

function SchedulePreviewBox({ cron, timezone }: { cron: string; timezone: string }) {
  const [state, setState] = useState<{ preview?: SchedulePreview; error?: string }>({});
  useEffect(() => {
    const ctrl = new AbortController();
    const t = setTimeout(() => {
      get<SchedulePreview>(`/schedules/preview${query({ cron, timezone, count: 5 })}`, ctrl.signal).then(
        (preview) => setState({ preview }),
        (e) => !ctrl.signal.aborted && setState({ error: messageOf(e) }),
      );
    }, 250);
    return () => (clearTimeout(t), ctrl.abort());
  }, [cron, timezone]);
  const { preview, error } = state;
  return (
    <div class="preview" aria-live="polite" id="schedule-preview">
      {error ? (
        <p class="error">{error}</p>
      ) : preview ? (
        <>
          <p>
            <strong>{preview.description}</strong>, {preview.timezone}. Next fire times:
          </p>
          <FireTimes times={preview.fireTimes} />
        </>
      ) : (
        <p class="muted">Checking the schedule…</p>
      )}
    </div>
  );
}

function ToolChecks({ tools, picked, onChange, name }: { tools: ToolInfo[]; picked: string[]; onChange: (v: string[]) => void; name: string }) {
  return (
    <div class="checks">
      {tools.map((t) => (
        <label key={t.name} class="check" title={t.reason ?? t.description}>
          <input
            type="checkbox"
            name={name}
            value={t.name}
            checked={picked.includes(t.name)}
            onChange={(e) => onChange(e.currentTarget.checked ? [...picked, t.name] : picked.filter((x) => x !== t.name))}
          />
          <code>{t.name}</code> <span class={`badge t-${t.state}`}>{t.state.replace("_", " ")}</span>
        </label>
      ))}
    </div>
  );
}

export function GoalForm({ id }: { id?: string }) {
  const goal = useData((signal) => (id ? get<Goal>(`/goals/${encodeURIComponent(id)}`, signal) : Promise.resolve(undefined)), [id]);
  const tools = useData((signal) => get<{ items: ToolInfo[] }>("/tools", signal), []);
  if (id && goal.error) return <Failure error={goal.error} />;
  if (id && !goal.data) return <Loading />;
  return <GoalFormBody key={id ?? "new"} goal={goal.data} tools={tools.data?.items ?? []} />;
}

function GoalFormBody({ goal, tools }: { goal?: Goal; tools: ToolInfo[] }) {
  const [f, setF] = useState<Form>(() => formOf(goal));
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const allZones = useMemo(zones, []);
  const on = (k: keyof Form) => (e: { currentTarget: HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement }) =>
    setF({ ...f, [k]: e.currentTarget.value });

  async function save(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const schedule = f.scheduled ? { cron: f.cron.trim(), timezone: f.timezone } : null;
    const body = {
      objective: f.objective,
      schedule: goal ? schedule : (schedule ?? undefined),
      webhookUrl: f.webhookUrl.trim() ? f.webhookUrl.trim() : goal ? null : undefined,
      params: paramsOf(f, (goal?.params as Record<string, unknown>) ?? {}),
    };
    try {
      const saved = goal ? await patch<Goal>(`/goals/${goal.id}`, body) : await post<Goal>("/goals", body);
      navigate(`/goals/${saved.id}`);
    } catch (err) {
      setError(messageOf(err));
      setBusy(false);
    }
  }

  return (
    <section>
      <h1>{goal ? "Edit goal" : "New goal"}</h1>
      <form onSubmit={save} class="goal-form" noValidate>
        <Field id="objective" label="Objective" hint="What the agent should do, in plain words. Sent to the model as written.">
          <textarea id="objective" rows={4} required value={f.objective} onInput={on("objective")} />
        </Field>
        <fieldset>
          <legend>Schedule</legend>
          <label class="check">
            <input type="checkbox" checked={f.scheduled} onChange={(e) => setF({ ...f, scheduled: e.currentTarget.checked })} /> Runs on a schedule
          </label>
          {f.scheduled && (
            <div class="row">
              <Field id="cron" label="Cron (minute hour day month weekday)">
                <input id="cron" value={f.cron} onInput={on("cron")} spellcheck={false} autoComplete="off" aria-describedby="schedule-preview" />
              </Field>
              <Field id="timezone" label="Time zone">
                <select id="timezone" value={f.timezone} onChange={on("timezone")}>
                  {allZones.map((z) => (
                    <option key={z} value={z}>
                      {z}
                    </option>
                  ))}
                </select>
              </Field>
            </div>
          )}
          {f.scheduled && <SchedulePreviewBox cron={f.cron} timezone={f.timezone} />}
        </fieldset>
        <Field id="webhookUrl" label="Webhook URL" hint="Receives signed run.completed / run.failed events (optional).">
          <input id="webhookUrl" type="url" value={f.webhookUrl} onInput={on("webhookUrl")} placeholder="https://…" />
        </Field>
        <fieldset>
          <legend>Budgets</legend>
          <div class="row">
            <Field id="stepBudget" label="Steps per run" hint={`default ${DEFAULT_STEP_BUDGET}`}>
              <input id="stepBudget" type="number" min={1} max={200} value={f.stepBudget} onInput={on("stepBudget")} />
            </Field>
            <Field id="tokenBudget" label="Tokens per run">
              <input id="tokenBudget" type="number" min={1000} value={f.tokenBudget} onInput={on("tokenBudget")} />
            </Field>
            <Field id="timeBudgetSeconds" label="Seconds per run">
              <input id="timeBudgetSeconds" type="number" min={10} value={f.timeBudgetSeconds} onInput={on("timeBudgetSeconds")} />
            </Field>
            <Field id="monthlyBudgetUsd" label="USD per month">
              <input id="monthlyBudgetUsd" type="number" min={0} step="0.01" value={f.monthlyBudgetUsd} onInput={on("monthlyBudgetUsd")} />
            </Field>
            <Field id="monthlyTokenBudget" label="Tokens per month">
              <input id="monthlyTokenBudget" type="number" min={1000} value={f.monthlyTokenBudget} onInput={on("monthlyTokenBudget")} />
            </Field>
          </div>
        </fieldset>
        <fieldset>
          <legend>Tools</legend>
          <p class="small muted">Allowed tools (none ticked: every configured tool).</p>
          <ToolChecks name="allowedTools" tools={tools} picked={f.allowedTools} onChange={(v) => setF({ ...f, allowedTools: v })} />
          <p class="small muted">Ask a person before these tools run (approvals):</p>
          <ToolChecks name="requireApproval" tools={tools} picked={f.requireApproval} onChange={(v) => setF({ ...f, requireApproval: v })} />
          <Field id="approvalTimeoutSeconds" label="Approval timeout (seconds)">
            <input id="approvalTimeoutSeconds" type="number" min={60} value={f.approvalTimeoutSeconds} onInput={on("approvalTimeoutSeconds")} />
          </Field>
        </fieldset>
        <div class="row">
          <Field id="overlap" label="When a run is still going at the next fire time">
            <select id="overlap" value={f.overlap} onChange={on("overlap")}>
              <option value="">default (skip)</option>
              {OVERLAP_POLICIES.map((o) => (
                <option key={o} value={o}>
                  {o}
                </option>
              ))}
            </select>
          </Field>
        </div>
        <Field id="emailRecipients" label="Email recipients" hint="Addresses or @domain, separated by commas.">
          <input id="emailRecipients" value={f.emailRecipients} onInput={on("emailRecipients")} />
        </Field>
        <Field id="allowedDomains" label="Allowed domains" hint="If set, the agent reaches only these domains (example.com, *.example.com).">
          <input id="allowedDomains" value={f.allowedDomains} onInput={on("allowedDomains")} />
        </Field>
        <Field id="constraints" label="Extra instructions">
          <textarea id="constraints" rows={2} value={f.constraints} onInput={on("constraints")} />
        </Field>
        {error && <Failure error={error} />}
        <div class="actions">
          <button type="submit" disabled={busy}>
            {goal ? "Save" : "Create goal"}
          </button>
          <a href={goal ? `/goals/${goal.id}` : "/"}>Cancel</a>
        </div>
      </form>
    </section>
  );
}
