/** The RUNS queue consumer: validate each message, hand the run to its goal's agent, ack or retry. */
import type { Env } from "../context";
import type { RunMessage } from "./messages";

export async function consumeRuns(batch: MessageBatch<RunMessage>, _env: Env): Promise<void> {
  // Until the agent runtime lands, messages stay on the queue (retried, then dead-lettered).
  batch.retryAll({ delaySeconds: 60 });
}
