/** The CLI's error kinds and their exit codes: 1 for the API or the network, 2 for a usage error. */

export const EXIT = { ok: 0, failure: 1, usage: 2, interrupted: 130 } as const;

/** A mistake in how the command was called (missing argument, invalid flag value, no token configured). */
export class UsageError extends Error {
  readonly exitCode = EXIT.usage;
}

/** An error answered by the API, unwrapped from its envelope `{ error: { code, message, requestId } }`. */
export class ApiError extends Error {
  readonly exitCode = EXIT.failure;
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId?: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

/** The server could not be reached at all (refused, DNS, timeout, dropped). */
export class NetworkError extends Error {
  readonly exitCode = EXIT.failure;
}

/** A failure that already printed what the user needs to know; only the exit code is left to set. */
export class SilentExit extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
  }
}

export function exitCodeOf(err: unknown): number {
  if (err instanceof UsageError || err instanceof ApiError || err instanceof NetworkError || err instanceof SilentExit) return err.exitCode;
  return EXIT.failure;
}
