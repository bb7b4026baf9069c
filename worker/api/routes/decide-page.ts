/**
 * /decide/<token>: the one-click decision links of the run.waiting webhook and email (public: the signed
 * token is the credential, see net/decision-links.ts). GET shows a small page — the goal, the tool and
 * its input or the question, and one button — and changes nothing, so a mail scanner that opens every
 * link decides nothing. Only the page's POST decides, through the same path as the API. A reused, expired,
 * tampered or foreign token gets a page that says so, and nothing changes.
 */
import { Hono } from "hono";
import type { Context } from "hono";
import { getGoal } from "../../db/goals";
import { getRun } from "../../db/runs";
import { waitsOf } from "../../db/waits";
import type { GoalRow, WaitRow } from "../../db/schema";
import { type LinkClaim, readDecisionToken } from "../../net/decision-links";
import type { App } from "../router";
import { decide, refusal } from "./run-decisions";
import { iso } from "../../lib/iso";

const esc = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

function page(c: Context<App>, status: 200 | 400 | 404 | 409, title: string, body: string) {
  // Everything interpolated below went through esc(); no script runs on this page (CSP says so too).
  c.header("content-security-policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'");
  c.header("cache-control", "no-store");
  c.header("referrer-policy", "no-referrer");
  return c.html(
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">` +
      `<title>${esc(title)} · async-agent</title><style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color-scheme:light dark}` +
      `pre{white-space:pre-wrap;word-break:break-word;background:#8881;padding:.75rem;border-radius:6px}button{font:inherit;padding:.5rem 1.25rem;border-radius:6px;cursor:pointer}` +
      `textarea,select{font:inherit;width:100%;box-sizing:border-box;margin:.5rem 0}</style></head><body><h1>${esc(title)}</h1>${body}</body></html>`,
    status,
  );
}

type Found = { claim: LinkClaim; wait: WaitRow; goal: GoalRow | null; runStatus: string; goalId: string } | { error: string; status: 400 | 404 };

/** The token's wait, or why the link does not work. */
async function lookUp(c: Context<App>): Promise<Found> {
  const claim = await readDecisionToken(c.env, c.req.param("token") ?? "");
  if (!claim) return { error: "This link is not valid: it was changed, or it was not made by this server.", status: 400 };
  const runId = claim.waitId.replace(/\.w\d+$/, "");
  const [run, waits] = await Promise.all([getRun(c.var.db, runId), waitsOf(c.var.db, runId)]);
  const wait = waits.find((w) => w.id === claim.waitId);
  if (!run || !wait) return { error: "The run this link is for no longer exists.", status: 404 };
  if ((claim.decision === "answer") !== (wait.kind === "question")) return { error: "This link is not valid for what the run waits for.", status: 400 };
  return { claim, wait, goal: (await getGoal(c.var.db, run.goalId)) ?? null, runStatus: run.status, goalId: run.goalId };
}

/** Why the wait cannot be decided any more, or null while it can. */
function closed(f: Exclude<Found, { error: string }>, now = Date.now()): string | null {
  if (f.wait.outcome || f.wait.expiresAt <= now || f.claim.expiresAt <= now || f.runStatus !== "waiting")
    return refusal(f.wait.runId, f.runStatus, f.wait, f.wait.kind, now);
  return null;
}

function describe(f: Exclude<Found, { error: string }>): string {
  const goal = f.goal ? `<p><strong>Goal:</strong> ${esc(f.goal.objective.slice(0, 1000))}</p>` : "";
  const until = `<p>Open until ${esc(iso(f.wait.expiresAt))}.</p>`;
  if (f.wait.kind === "question") {
    const choices = f.wait.choices?.length ? `<p><strong>Choices:</strong> ${f.wait.choices.map(esc).join(" · ")}</p>` : "";
    return `${goal}<p><strong>Question:</strong></p><pre>${esc(f.wait.question ?? "")}</pre>${choices}${until}`;
  }
  return `${goal}<p><strong>The agent wants to call</strong> <code>${esc(f.wait.tool ?? "")}</code> with:</p><pre>${esc(JSON.stringify(f.wait.input, null, 2) ?? "")}</pre>${until}`;
}

export const decidePage = new Hono<App>()
  .get("/:token", async (c) => {
    const f = await lookUp(c);
    if ("error" in f) return page(c, f.status, "Link not valid", `<p>${esc(f.error)}</p>`);
    const why = closed(f);
    if (why) return page(c, 409, "Nothing to decide", `<p>${esc(why)}.</p>${describe(f)}`);
    const { decision } = f.claim;
    const form =
      decision === "answer"
        ? `<form method="post"><label for="text">Your answer</label><textarea id="text" name="text" rows="4" required maxlength="4000"></textarea><button type="submit">Send the answer</button></form>`
        : `<form method="post"><label for="note">Note for the agent (optional)</label><textarea id="note" name="note" rows="2" maxlength="2000"></textarea>` +
          `<button type="submit">${decision === "approve" ? "Approve the call" : "Deny the call"}</button></form>`;
    return page(c, 200, decision === "answer" ? "Answer the agent" : decision === "approve" ? "Approve this call?" : "Deny this call?", describe(f) + form);
  })
  .post("/:token", async (c) => {
    const f = await lookUp(c);
    if ("error" in f) return page(c, f.status, "Link not valid", `<p>${esc(f.error)}</p>`);
    const why = closed(f);
    if (why) return page(c, 409, "Nothing to decide", `<p>${esc(why)}.</p>`);
    const form = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
    const text = typeof form.text === "string" ? form.text.trim().slice(0, 4000) : "";
    const note = typeof form.note === "string" ? form.note.trim().slice(0, 2000) : "";
    const { decision } = f.claim;
    if (decision === "answer" && !text) return page(c, 400, "An answer is needed", "<p>Go back and write an answer.</p>");
    const r = await decide(
      c,
      c.var.db,
      { id: f.wait.runId, goalId: f.goalId },
      {
        waitId: f.wait.id,
        kind: f.wait.kind,
        outcome: decision === "answer" ? "answered" : decision === "approve" ? "approved" : "denied",
        response: decision === "answer" ? text : note || null,
        via: "link",
      },
    );
    if (!r.ok) return page(c, 409, "Nothing to decide", `<p>${esc(r.why)}.</p>`);
    const done = decision === "answer" ? "Answer sent" : decision === "approve" ? "Approved" : "Denied";
    return page(c, 200, done, "<p>The run goes on. You can close this page.</p>");
  });
