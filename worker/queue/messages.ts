import { z } from "zod";

/** A message on the RUNS queue: "carry this run to its end". Small, so 100 fit in one sendBatch. */
export const RunMessage = z.object({ runId: z.string().min(1), goalId: z.string().min(1) });
export type RunMessage = z.infer<typeof RunMessage>;

/** Queue `sendBatch` takes at most 100 messages (and 256 KB) per call. */
export const SEND_BATCH_MAX = 100;

export async function enqueueRuns(queue: Queue<RunMessage>, msgs: RunMessage[]): Promise<void> {
  for (let i = 0; i < msgs.length; i += SEND_BATCH_MAX) {
    await queue.sendBatch(msgs.slice(i, i + SEND_BATCH_MAX).map((body) => ({ body, contentType: "json" })));
  }
}
