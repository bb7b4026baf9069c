/** Helpers for calling the Worker's API from tests the way a client does. */
import { exports } from "cloudflare:workers";
import { TEST_API_TOKEN } from "../bindings";

export type ApiResponse<T = any> = { status: number; body: T; headers: Headers };

export async function call<T = any>(
  method: string,
  path: string,
  opts: { body?: unknown; raw?: string; token?: string | null; headers?: Record<string, string> } = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...opts.headers };
  const token = opts.token === undefined ? TEST_API_TOKEN : opts.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  let body: string | undefined = opts.raw;
  if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers["content-type"] ??= "application/json";
  }
  const res = await exports.default.fetch(new Request(`http://worker${path}`, { method, headers, body }));
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON: keep the text */
  }
  return { status: res.status, body: parsed as T, headers: res.headers };
}

export const api = {
  get: <T = any>(p: string, o?: Parameters<typeof call>[2]) => call<T>("GET", `/api/v1${p}`, o),
  post: <T = any>(p: string, body?: unknown, o?: Parameters<typeof call>[2]) => call<T>("POST", `/api/v1${p}`, { body, ...o }),
  patch: <T = any>(p: string, body?: unknown, o?: Parameters<typeof call>[2]) => call<T>("PATCH", `/api/v1${p}`, { body, ...o }),
  del: <T = any>(p: string, o?: Parameters<typeof call>[2]) => call<T>("DELETE", `/api/v1${p}`, o),
};

/** Creates a goal and returns it (asserting the 201). */
export async function createGoal(body: Record<string, unknown> = {}) {
  const res = await api.post("/goals", { objective: "Collect top AI news", ...body });
  if (res.status !== 201) throw new Error(`create goal: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}
