/**
 * One-click decision links (in the run.waiting webhook and email): a token that names the wait, the
 * decision and the wait's expiry, signed with HMAC-SHA256 under a key derived from API_TOKEN (no new
 * secret to manage; rotating API_TOKEN voids every link). A token is only a capability to *show* the
 * decision page; the page's POST decides, once, through the same conditional update as the API, so a
 * reused link finds the wait settled. Mail scanners that prefetch links (a GET) decide nothing.
 */
import type { Env } from "../lib/env";
import { hmacSha256, sameText } from "./webhook-signing";

export const LINK_DECISIONS = ["approve", "deny", "answer"] as const;
export type LinkDecision = (typeof LINK_DECISIONS)[number];
export type LinkClaim = { waitId: string; decision: LinkDecision; expiresAt: number };

const enc = new TextEncoder();
const b64url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
const fromB64url = (s: string) => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));

async function sign(env: Env, payload: string): Promise<string> {
  if (!env.API_TOKEN) throw new Error("API_TOKEN is not set: decision links cannot be signed");
  // A key of its own, derived from API_TOKEN: a link's signature says nothing about the token itself.
  const key = await hmacSha256(enc.encode(env.API_TOKEN), enc.encode("async-agent decision links v1"));
  return b64url(await hmacSha256(key, enc.encode(payload)));
}

export async function decisionToken(env: Env, claim: LinkClaim): Promise<string> {
  const payload = b64url(enc.encode(JSON.stringify({ w: claim.waitId, d: claim.decision, e: claim.expiresAt })));
  return `${payload}.${await sign(env, payload)}`;
}

/** The token's claim when its signature is ours; null for anything else (tampered, foreign, malformed). Expiry is the caller's to judge. */
export async function readDecisionToken(env: Env, token: string): Promise<LinkClaim | null> {
  const m = /^([A-Za-z0-9_-]{1,600})\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!m || !env.API_TOKEN) return null;
  if (!sameText(await sign(env, m[1]), m[2])) return null;
  try {
    const c = JSON.parse(new TextDecoder().decode(fromB64url(m[1]))) as { w?: unknown; d?: unknown; e?: unknown };
    if (typeof c.w !== "string" || typeof c.e !== "number" || !(LINK_DECISIONS as readonly unknown[]).includes(c.d)) return null;
    return { waitId: c.w, decision: c.d as LinkDecision, expiresAt: c.e };
  } catch {
    return null;
  }
}

/** The links of a wait: approve and deny for an approval, answer for a question; absolute when PUBLIC_URL is set. */
export async function decisionLinks(env: Env, wait: { id: string; kind: string; expiresAt: number }): Promise<Record<string, string>> {
  const base = (env.PUBLIC_URL ?? "").replace(/\/+$/, "");
  const decisions: LinkDecision[] = wait.kind === "approval" ? ["approve", "deny"] : ["answer"];
  const links: Record<string, string> = {};
  for (const d of decisions) links[d] = `${base}/decide/${await decisionToken(env, { waitId: wait.id, decision: d, expiresAt: wait.expiresAt })}`;
  return links;
}
