/** A goal's inbound webhook trigger: whether it is on, its URL, when it last fired; enable or rotate (the secret is shown once), disable. */
import { useState } from "preact/hooks";
import { del, get, messageOf, post } from "../lib/api";
import { relative } from "../lib/format";
import type { InboundTrigger, InboundTriggerWithSecret } from "../lib/types";
import { Failure, Loading, useData } from "./ui";

export function TriggerCard({ goalId }: { goalId: string }) {
  const trigger = useData((signal) => get<InboundTrigger>(`/goals/${goalId}/trigger`, signal), [goalId]);
  const [secret, setSecret] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const act = async (work: () => Promise<void>) => {
    setError(null);
    try {
      await work();
    } catch (e) {
      setError(messageOf(e));
    }
  };
  const enable = () =>
    act(async () => {
      const t = await post<InboundTriggerWithSecret>(`/goals/${goalId}/trigger`);
      setSecret(t.secret);
      trigger.set(t);
    });
  const disable = () =>
    act(async () => {
      await del(`/goals/${goalId}/trigger`);
      setSecret(null);
      trigger.reload();
    });
  const t = trigger.data;
  return (
    <div class="card">
      <h2>Inbound webhook</h2>
      {trigger.error !== undefined && <Failure error={trigger.error} />}
      {!t ? (
        <Loading />
      ) : t.enabled ? (
        <>
          <p class="small">
            Deliveries signed with its secret (Standard Webhooks or GitHub) to <code>{t.url}</code> start a run.
            {t.lastFiredAt ? ` Last fired ${relative(t.lastFiredAt)}.` : " Not fired yet."}
          </p>
          {secret && (
            <p class="small" role="status">
              Secret (shown only now): <code>{secret}</code>
            </p>
          )}
          <div class="actions">
            <button type="button" class="secondary" onClick={enable}>
              Rotate secret
            </button>
            <button type="button" class="danger" onClick={disable}>
              Disable
            </button>
          </div>
        </>
      ) : (
        <>
          <p class="small muted">Off: other services cannot start this goal.</p>
          <button type="button" class="secondary" onClick={enable}>
            Enable
          </button>
        </>
      )}
      {error && <p class="error">{error}</p>}
    </div>
  );
}
