/**
 * THE one egress path for tools and notifications. Every request (and every redirect hop) is checked:
 * http(s) only, no credentials in the URL, no private/loopback/link-local/metadata/unspecified address
 * (unless ALLOW_PRIVATE_NETWORK=true), the goal's allowed/denied domains. The body is read up to a
 * byte cap under one timeout, and a User-Agent is set (workerd's fetch sends none). Redirects are
 * followed by hand, so this file (not the runtime) must also do what a browser's fetch does on a hop:
 * drop credentials when the hop leaves the origin, and turn 303 (and 301/302 after POST) into a GET.
 */
import type { Env } from "../lib/env";
import type { GoalRow } from "../db/schema";
import { VERSION } from "../lib/version";
import { privateHostReason } from "./address";

export const USER_AGENT = `async-agent/${VERSION} (+https://github.com/async-agent; background research agent)`;
const DEFAULT_TIMEOUT_MS = 15_000;
const DEFAULT_MAX_BYTES = 2 * 1024 * 1024;
const MAX_REDIRECTS = 5;
/** The only caller headers a hop to another origin keeps: API keys (authorization, x-subscription-token,
 * x-api-key, cookie, ...) are meant for the host the caller named, not for whatever a 3xx points at. */
const CROSS_ORIGIN_HEADERS = new Set(["accept", "accept-language", "user-agent"]);
/** Headers that describe a request body; they go when a redirect turns the request into a bodiless GET. */
const BODY_HEADERS = new Set(["content-type", "content-length", "content-encoding", "content-language", "content-location"]);

const keepOnly = (h: Record<string, string>, keep: (name: string) => boolean) => Object.fromEntries(Object.entries(h).filter(([name]) => keep(name)));

/** A request the policy refuses (never sent). The message is safe to show the model. */
export class EgressError extends Error {}

export type EgressPolicy = {
  allowPrivate: boolean;
  /** When set, only these domains (and their subdomains; "*.x" = subdomains only) are reachable; see domainMatches for ports. */
  allowedDomains?: string[];
  deniedDomains?: string[];
};

/** The policy for a goal's agent; operator-configured endpoints (search API, Resend) pass no goal. */
export function egressPolicy(env: Env, goal?: Pick<GoalRow, "params"> | null): EgressPolicy {
  return {
    allowPrivate: env.ALLOW_PRIVATE_NETWORK === "true",
    allowedDomains: goal?.params.allowedDomains,
    deniedDomains: goal?.params.deniedDomains,
  };
}

/**
 * Whether a domain rule covers `url`: "example.com" is that host and its subdomains, "*.example.com" the
 * subdomains only. A rule may name a port ("example.com:8443"). Without one it covers only the scheme's
 * default port (80/443), so allowing a host does not open whatever else listens on it; `anyPort` (for
 * deniedDomains) makes a portless rule cover every port instead, so a block is not dodged by a port either.
 */
export function domainMatches(url: URL, rule: string, anyPort = false): boolean {
  const [p, port] = rule.toLowerCase().split(":");
  const urlPort = url.port || (url.protocol === "https:" ? "443" : "80");
  if (port !== undefined ? port !== urlPort : url.port !== "" && !anyPort) return false;
  const h = url.hostname.toLowerCase().replace(/\.+$/, "");
  if (p.startsWith("*.")) return h.endsWith(p.slice(1));
  return h === p || h.endsWith(`.${p}`);
}

/** Throws EgressError when the policy refuses `url`; returns the parsed URL otherwise. */
export function checkUrl(raw: string | URL, policy: EgressPolicy): URL {
  let url: URL;
  try {
    // The URL parser normalises 2130706433, 0x7f.1 and 0177.0.0.1 to 127.0.0.1 before we look.
    url = new URL(raw);
  } catch {
    throw new EgressError(`not a valid URL: ${String(raw).slice(0, 200)}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new EgressError(`refused ${url.protocol} URL: only http and https are allowed`);
  if (url.username || url.password) throw new EgressError("refused a URL with credentials in it");
  const host = url.hostname;
  if (!policy.allowPrivate) {
    const why = privateHostReason(host);
    if (why) throw new EgressError(`refused ${host}: ${why} address (private networks are not reachable)`);
  }
  if (policy.deniedDomains?.some((d) => domainMatches(url, d, true))) throw new EgressError(`refused ${url.host}: the goal's deniedDomains block it`);
  if (policy.allowedDomains?.length && !policy.allowedDomains.some((d) => domainMatches(url, d)))
    throw new EgressError(
      `refused ${url.host}: not in the goal's allowedDomains (${policy.allowedDomains.join(", ")}; a domain without :port covers ports 80 and 443 only)`,
    );
  return url;
}

export type GuardedRequest = {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
  maxBytes?: number;
  /** 0 = do not follow (a 3xx comes back as the response). */
  maxRedirects?: number;
};

export type GuardedResponse = {
  status: number;
  ok: boolean;
  headers: Headers;
  /** The final URL after redirects. */
  url: string;
  body: Uint8Array;
  /** True when the body was cut at maxBytes. */
  truncated: boolean;
  text(): string;
};

/** Fetches through the policy. Throws EgressError (refused), or an Error on network failure/timeout. */
export async function guardedFetch(raw: string | URL, req: GuardedRequest, policy: EgressPolicy): Promise<GuardedResponse> {
  const timeoutMs = req.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
  let url = checkUrl(raw, policy);
  let method = (req.method ?? "GET").toUpperCase();
  let body = req.body;
  // Lower-cased so the redirect filters below match however the caller spelled a name.
  let headers: Record<string, string> = { "user-agent": USER_AGENT };
  for (const [name, value] of Object.entries(req.headers ?? {})) headers[name.toLowerCase()] = value;
  const maxRedirects = req.maxRedirects ?? MAX_REDIRECTS;
  try {
    for (let hop = 0; ; hop++) {
      const res = await fetch(url, {
        method,
        body,
        signal,
        redirect: "manual", // every hop goes back through checkUrl
        headers,
      });
      const location = res.headers.get("location");
      if (res.status >= 300 && res.status < 400 && location && maxRedirects > 0) {
        await res.body?.cancel();
        if (hop >= maxRedirects) throw new EgressError(`too many redirects (over ${maxRedirects})`);
        const next = checkUrl(new URL(location, url), policy);
        // Fetch spec (HTTP-redirect fetch): 303 makes anything but GET/HEAD a GET, and so does 301/302 after POST.
        if ((res.status === 303 && method !== "GET" && method !== "HEAD") || ((res.status === 301 || res.status === 302) && method === "POST")) {
          method = "GET";
          body = undefined;
          headers = keepOnly(headers, (name) => !BODY_HEADERS.has(name));
        }
        if (next.origin !== url.origin) {
          // A 307/308 would replay the body (an email, a query, maybe a key) to a host the caller never named.
          if (body !== undefined) throw new EgressError(`refused to resend a ${method} body across origins (${url.origin} redirected to ${next.origin})`);
          // Stripped for good: a later hop back to the first origin was still chosen by the other one.
          headers = keepOnly(headers, (name) => CROSS_ORIGIN_HEADERS.has(name));
        }
        url = next;
        continue;
      }
      const { bytes, truncated } = await readCapped(res, req.maxBytes ?? DEFAULT_MAX_BYTES);
      return {
        status: res.status,
        ok: res.ok,
        headers: res.headers,
        url: url.toString(),
        body: bytes,
        truncated,
        text: () => new TextDecoder().decode(bytes),
      };
    }
  } catch (e) {
    if (e instanceof EgressError) throw e;
    if (timeout.aborted) throw new Error(`timed out after ${timeoutMs} ms fetching ${url.host}`);
    if (req.signal?.aborted) throw new Error(`cancelled while fetching ${url.host}`);
    throw new Error(`network error fetching ${url.host}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Reads at most `max` bytes and cancels the rest: a huge or endless body never fills memory. */
async function readCapped(res: Response, max: number): Promise<{ bytes: Uint8Array; truncated: boolean }> {
  if (!res.body) return { bytes: new Uint8Array(), truncated: false };
  const declared = Number(res.headers.get("content-length") ?? NaN);
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (size + value.byteLength > max) {
      chunks.push(value.subarray(0, max - size));
      size = max;
      truncated = true;
      await reader.cancel();
      break;
    }
    chunks.push(value);
    size += value.byteLength;
  }
  if (!truncated && Number.isFinite(declared) && declared > max) truncated = true;
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.byteLength;
  }
  return { bytes, truncated };
}
