import { z } from "zod";
import { Overlap } from "../domain/schemas";
import { inChunks } from "../lib/chunks";

/**
 * A message on the RUNS queue: "carry this run to its end". Small, so 100 fit in one sendBatch.
 * `overlap` is the goal's overlap policy when the run was created: only a `queue` run (or a message
 * that does not say, like the reaper's re-sends) makes the consumer read D1 before the hand-over.
 */
export const RunMessage = z.object({ runId: z.string().min(1), goalId: z.string().min(1), overlap: Overlap.optional() });
export type RunMessage = z.infer<typeof RunMessage>;

/** Queue `sendBatch` takes at most 100 messages (and 256 KB) per call. */
export const SEND_BATCH_MAX = 100;

export async function enqueueRuns(queue: Queue<RunMessage>, msgs: RunMessage[]): Promise<void> {
  for (const chunk of inChunks(msgs, SEND_BATCH_MAX)) await queue.sendBatch(chunk.map((body) => ({ body, contentType: "json" })));
}
