/**
 * The side effects a user can observe, read from the fakes that received them: webhook deliveries (verified
 * again here with the `standardwebhooks` library, as a receiver would), emails at the fake Resend, and the
 * files, outputs and steps the API lists for a run.
 */
import { Webhook } from "standardwebhooks";
import { TEST_WEBHOOK_SECRET } from "../../bindings.ts";
import type { Attempt } from "../../fakes/webhook-receiver.ts";
import { fakeUrl, type System } from "./system.ts";

const verifier = new Webhook(TEST_WEBHOOK_SECRET);

/** Every delivery attempt the receiver saw for `key`, each checked with the Standard Webhooks library. */
export async function deliveries(key: string): Promise<(Attempt & { libraryVerified: boolean })[]> {
  const { attempts } = (await (await fetch(`${fakeUrl("webhooks")}/hooks/${key}`)).json()) as { attempts: Attempt[] };
  return attempts.map((a) => {
    let libraryVerified = true;
    try {
      verifier.verify(a.raw, a.headers);
    } catch {
      libraryVerified = false;
    }
    return { ...a, libraryVerified };
  });
}

/** The receiver's URL for `key` (a goal's webhookUrl). */
export const hookUrl = (key: string) => `${fakeUrl("webhooks")}/hooks/${key}`;

type Email = { id: string; to: string[]; subject: string; idempotencyKey?: string };
/** Emails the fake Resend accepted (a repeated Idempotency-Key is answered, not sent again). */
export async function emailsSent(): Promise<Email[]> {
  return ((await (await fetch(`${fakeUrl("resend")}/emails`)).json()) as { data: Email[] }).data;
}

export type Step = { stepNo: number; toolName: string | null; error: string | null; observation: string | null };
export async function stepsOf(sys: Pick<System, "api">, runId: string): Promise<Step[]> {
  return (await sys.api(`/runs/${runId}/steps?limit=100`)).body.items;
}

/** Step numbers are 1..n with no gap and no repeat. */
export const contiguous = (steps: Step[]) => steps.every((s, i) => s.stepNo === i + 1);

/** Values seen more than once. */
export function repeated<T>(values: T[]): T[] {
  const seen = new Set<T>();
  return values.filter((v) => (seen.has(v) ? true : (seen.add(v), false)));
}
