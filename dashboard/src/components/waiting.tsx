/** What a waiting run waits for, with the answer right there: approve or deny a tool call, or answer a question. */
import { useState } from "preact/hooks";
import { messageOf, post } from "../lib/api";
import { relative } from "../lib/format";
import type { Plan, WaitingFor } from "../lib/types";
import { Failure } from "./ui";

export function WaitingPanel({ runId, waiting, onDone }: { runId: string; waiting: WaitingFor; onDone: () => void }) {
  const [note, setNote] = useState("");
  const [answer, setAnswer] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const send = async (path: string, body: unknown) => {
    setBusy(true);
    setError(null);
    try {
      await post(`/runs/${runId}/${path}`, body);
      onDone();
    } catch (e) {
      setError(messageOf(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="card waiting" aria-labelledby="waiting-title">
      <h2 id="waiting-title">{waiting.kind === "approval" ? "Waiting for your approval" : "Waiting for your answer"}</h2>
      <p class="small muted">
        Asked {relative(waiting.askedAt)}; expires {relative(waiting.expiresAt)}.
      </p>
      {waiting.kind === "approval" ? (
        <>
          <p>
            Step {waiting.stepNo} wants to call <code>{waiting.tool}</code> with:
          </p>
          <pre>{JSON.stringify(waiting.input, null, 2)}</pre>
          <div class="field">
            <label for="approval-note">Note for the agent (optional)</label>
            <input id="approval-note" value={note} onInput={(e) => setNote(e.currentTarget.value)} />
          </div>
          <div class="actions">
            <button type="button" disabled={busy} onClick={() => send("approval", { decision: "approve", ...(note.trim() ? { note } : {}) })}>
              Approve
            </button>
            <button type="button" class="danger" disabled={busy} onClick={() => send("approval", { decision: "deny", ...(note.trim() ? { note } : {}) })}>
              Deny
            </button>
          </div>
        </>
      ) : (
        <>
          <p class="question">{waiting.question}</p>
          {waiting.choices?.length ? (
            <div class="actions">
              {waiting.choices.map((c) => (
                <button type="button" key={c} disabled={busy} onClick={() => send("answer", { text: c })}>
                  {c}
                </button>
              ))}
            </div>
          ) : null}
          <form
            onSubmit={(e) => {
              e.preventDefault();
              if (answer.trim()) send("answer", { text: answer });
            }}
          >
            <div class="field">
              <label for="answer">Your answer</label>
              <textarea id="answer" rows={2} value={answer} onInput={(e) => setAnswer(e.currentTarget.value)} />
            </div>
            <button type="submit" disabled={busy || !answer.trim()}>
              Send answer
            </button>
          </form>
        </>
      )}
      {error && <Failure error={error} />}
    </section>
  );
}

const MARK: Record<string, string> = { pending: "☐", in_progress: "◐", done: "☑", skipped: "⊘" };

export function PlanList({ plan }: { plan: Plan }) {
  return (
    <section class="card" aria-labelledby="plan-title">
      <h2 id="plan-title">Plan</h2>
      <ul class="plan">
        {plan.items.map((item, i) => (
          <li key={i} class={`plan-${item.status}`}>
            <span aria-hidden="true">{MARK[item.status] ?? "•"}</span> {item.title} <span class="sr-only">({item.status.replace("_", " ")})</span>
          </li>
        ))}
      </ul>
      {plan.note && <p class="small">{plan.note}</p>}
      <p class="small muted">Updated {relative(plan.updatedAt)}</p>
    </section>
  );
}
