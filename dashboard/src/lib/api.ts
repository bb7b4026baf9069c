/**
 * The dashboard's one way to the API (the same /api/v1 the CLI uses): the bearer token from the tab's session
 * storage, JSON in and out, and the error envelope turned into an ApiError whose message names the field.
 * Types come from the API's own schemas (worker/api/schemas.ts), imported as types only: no zod in the page.
 */
import { signal } from "@preact/signals";
import type { ErrorBody } from "../../../worker/api/schemas";

const TOKEN_KEY = "async-agent.token";
export const API = "/api/v1";

/** The signed-in token (session storage: it ends with the tab, and other sites cannot read it). */
export const token = signal<string | null>(sessionStorage.getItem(TOKEN_KEY));
/** Why the user was signed out, shown on the sign-in page. */
export const signOutReason = signal<string | null>(null);

export function signIn(value: string): void {
  sessionStorage.setItem(TOKEN_KEY, value);
  signOutReason.value = null;
  token.value = value;
}

export function signOut(reason: string | null = null): void {
  sessionStorage.removeItem(TOKEN_KEY);
  signOutReason.value = reason;
  token.value = null;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const authHeaders = (t = token.value): Record<string, string> => (t ? { authorization: `Bearer ${t}` } : {});

/** Turns a non-2xx answer into an ApiError with the API's own message (which names each bad field). */
export async function errorOf(res: Response): Promise<ApiError> {
  let body: ErrorBody | null = null;
  try {
    body = (await res.json()) as ErrorBody;
  } catch {}
  return new ApiError(res.status, body?.error?.code ?? "http_error", body?.error?.message ?? `${res.status} ${res.statusText}`);
}

type Options = { body?: unknown; signal?: AbortSignal; token?: string };

/** Calls the API; a 401 with the stored token signs the tab out, saying why. */
export async function api<T>(method: string, path: string, opts: Options = {}): Promise<T> {
  const headers: Record<string, string> = { ...authHeaders(opts.token ?? token.value) };
  if (opts.body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(API + path, {
    method,
    headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    signal: opts.signal,
  });
  if (!res.ok) {
    const err = await errorOf(res);
    if (res.status === 401 && opts.token === undefined && token.value) signOut(`Signed out: ${err.message}`);
    throw err;
  }
  return (res.status === 204 ? undefined : await res.json()) as T;
}

export const get = <T>(path: string, signal?: AbortSignal) => api<T>("GET", path, { signal });
export const post = <T>(path: string, body?: unknown) => api<T>("POST", path, { body });
export const patch = <T>(path: string, body: unknown) => api<T>("PATCH", path, { body });
export const del = (path: string) => api<void>("DELETE", path);

/** A query string from the defined values only. */
export function query(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : "";
}

export const messageOf = (e: unknown) => (e instanceof Error ? e.message : String(e));
