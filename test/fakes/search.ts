/**
 * Search providers speaking their real wire formats: SearXNG's JSON API (`/search?format=json`),
 * Brave's Web Search API (`/res/v1/web/search`, X-Subscription-Token) and Tavily (`POST /search`,
 * Bearer key). Results link to the page fake. The query "provider-error" answers 500.
 */
import { TEST_BRAVE_KEY, TEST_TAVILY_KEY } from "../bindings";
import { sendJson, serve, type Fake } from "./http";
import { pagesUrl } from "./pages";

function hits(q: string) {
  return [1, 2, 3].map((n) => ({
    title: `AI news ${n}: ${q} <b>update</b>`,
    url: `${pagesUrl()}/article/${n}`,
    snippet: `Story ${n} about ${q}. ${"Details of the story, ".repeat(30)}`,
  }));
}

export function startSearxng(): Promise<Fake> {
  return serve((req, _body, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname !== "/search") return sendJson(res, 404, { error: "not found" });
    // Like a real instance without `json` in search.formats.
    if (url.searchParams.get("format") !== "json") return sendJson(res, 403, { error: "format not allowed" });
    const q = url.searchParams.get("q") ?? "";
    if (q === "provider-error") return sendJson(res, 500, { error: "engine crashed" });
    sendJson(res, 200, {
      query: q,
      number_of_results: 3,
      results: hits(q).map((h) => ({ title: h.title, url: h.url, content: h.snippet, engine: "duckduckgo", score: 1 })),
    });
  });
}

export function startBrave(): Promise<Fake> {
  return serve((req, _body, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname !== "/res/v1/web/search") return sendJson(res, 404, { error: "not found" });
    if (req.headers["x-subscription-token"] !== TEST_BRAVE_KEY)
      return sendJson(res, 401, { type: "ErrorResponse", error: { code: "SUBSCRIPTION_TOKEN_INVALID", status: 401 } });
    const q = url.searchParams.get("q") ?? "";
    const count = Number(url.searchParams.get("count") ?? 20);
    sendJson(res, 200, {
      type: "search",
      query: { original: q },
      web: {
        type: "search",
        results: hits(q)
          .slice(0, count)
          .map((h) => ({ title: h.title, url: h.url, description: `<strong>${q}</strong> ${h.snippet}` })),
      },
    });
  });
}

export function startTavily(): Promise<Fake> {
  return serve((req, body, res) => {
    if (req.method !== "POST" || req.url !== "/search") return sendJson(res, 404, { detail: "Not Found" });
    if (req.headers.authorization !== `Bearer ${TEST_TAVILY_KEY}`)
      return sendJson(res, 401, { detail: { error: "Unauthorized: missing or invalid API key." } });
    const { query, max_results } = JSON.parse(body) as { query: string; max_results?: number };
    sendJson(res, 200, {
      query,
      results: hits(query)
        .slice(0, max_results ?? 5)
        .map((h) => ({ title: h.title, url: h.url, content: h.snippet, score: 0.9 })),
      response_time: 0.5,
    });
  });
}
