/** The LLM layer's one error class (a leaf: the implementations, retries and the factory all throw it). */

/**
 * An LLM failure. `fatal` ones (bad key, unknown model, refused request) end the run at once;
 * the others are retried with backoff. The message names provider, model and the fix.
 */
export class LlmError extends Error {
  constructor(
    message: string,
    readonly fatal: boolean,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}
