import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { privateHostReason } from "../../worker/net/address";
import { checkUrl, EgressError, guardedFetch, USER_AGENT } from "../../worker/net/guarded-fetch";
import { deliverWebhook, signWebhook } from "../../worker/net/webhook-signing";
import type { Echoed } from "../fakes/echo";
import { ToolError } from "../../worker/tools/tool";
import { Provenance, urlsIn } from "../../worker/tools/fetch-policy";
import { startScriptedRun, stepsOf, waitForRunEnd } from "./agent-helpers";
import { runTool, toolContext } from "./tool-context";
import { dbFor } from "../../worker/db/client";
import { linkSourceSteps } from "../../worker/db/steps";
import { newId } from "../../worker/lib/ids";
import { createGoal } from "./api";
import { insertRunRow } from "./scheduler-helpers";

const closed = { allowPrivate: false };
const pages = () => env.TEST_PAGES_URL;

// Every spelling of an internal destination an attacker (or a prompt-injected page) might use.
const REFUSED = [
  "http://127.0.0.1/",
  "http://127.0.0.1:8787/api",
  "http://127.1/",
  "http://2130706433/",
  "http://0x7f000001/",
  "http://0x7f.0.0.1/",
  "http://0177.0.0.1/",
  "http://017700000001/",
  "http://0/",
  "http://0.0.0.0:80/",
  "http://localhost/",
  "http://LOCALHOST./",
  "http://app.localhost/",
  "http://printer.local/",
  "http://intranet/",
  "http://[::]/",
  "http://[::1]/",
  "http://[0:0:0:0:0:0:0:1]/",
  "http://[::ffff:127.0.0.1]/",
  "http://[::ffff:7f00:1]/",
  "http://[::ffff:169.254.169.254]/",
  "http://[::127.0.0.1]/",
  "http://[::ffff:0:7f00:1]/",
  "http://[::ffff:0:a00:1]/",
  "http://[::ffff:0:127.0.0.1]/",
  "http://[0:0:0:0:ffff:0:a9fe:a9fe]/",
  "http://[::8.8.8.8]/",
  "http://[::1:0:8.8.8.8]/",
  "http://[64:ff9b::a9fe:a9fe]/",
  "http://[64:ff9b::7f00:1]/",
  "http://[64:ff9b::10.0.0.1]/",
  "http://[64:ff9b::192.168.1.1]/",
  "http://[64:ff9b:1::808:808]/",
  "http://[2002:a9fe:a9fe::]/",
  "http://[2002:7f00:1::1]/",
  "http://[2002:a00:1::]/",
  "http://[2002:c0a8:101:1::1]/",
  "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/",
  "http://[fe80::1]/",
  "http://[fd00:ec2::254]/",
  "http://169.254.169.254/latest/meta-data/",
  "http://0xa9fea9fe/",
  "http://2852039166/",
  "http://metadata.google.internal/computeMetadata/v1/",
  "http://10.0.0.1/",
  "http://172.16.5.4/",
  "http://172.31.255.255/",
  "http://192.168.1.1/",
  "http://100.64.0.1/",
  "http://224.0.0.1/",
  "http://255.255.255.255/",
  "file:///etc/passwd",
  "ftp://example.com/file",
  "gopher://example.com/",
  "data:text/html,<script>alert(1)</script>",
  "javascript:alert(1)",
  "http://user:pass@example.com/",
];

const PUBLIC = [
  "https://example.com/",
  "http://93.184.216.34/",
  "http://[2606:4700:4700::1111]/",
  "https://news.ycombinator.com/item?id=1",
  "http://172.32.0.1/",
  "http://[::ffff:8.8.8.8]/",
  "http://[::ffff:0:8.8.8.8]/",
  "http://[64:ff9b::8.8.8.8]/",
  "http://[2002:808:808::1]/",
];

// What an API client sends: keys the redirect target must never see, and harmless content negotiation.
const SECRET_HEADERS = {
  authorization: "Bearer re_secret_for_resend",
  "X-Subscription-Token": "brave-secret",
  "x-api-key": "tavily-secret",
  cookie: "session=abc",
};
const SAFE_HEADERS = { accept: "application/json", "accept-language": "en" };
const echoed = (res: { text(): string }) => JSON.parse(res.text()) as Echoed;

describe("egress guard", () => {
  afterEach(() => vi.restoreAllMocks());

  it.each(REFUSED)("refuses %s with ALLOW_PRIVATE_NETWORK off", (url) => {
    expect(() => checkUrl(url, closed)).toThrow(EgressError);
  });

  it.each(PUBLIC)("lets public %s through", (url) => {
    expect(checkUrl(url, closed).toString()).toBeTruthy();
  });

  it("names why a literal address is internal", () => {
    expect(privateHostReason("169.254.169.254")).toMatch(/metadata/);
    expect(privateHostReason("[::ffff:a00:1]")).toBe("private");
    expect(privateHostReason("[::ffff:0:7f00:1]")).toBe("loopback"); // IPv4-translated
    expect(privateHostReason("[64:ff9b::a00:1]")).toBe("private"); // NAT64
    expect(privateHostReason("[2002:a9fe:a9fe::1]")).toMatch(/metadata/); // 6to4
    expect(privateHostReason("[::8.8.8.8]")).toMatch(/reserved/);
    expect(privateHostReason("example.com")).toBeNull();
  });

  it("applies the goal's allowed and denied domains, subdomains included", () => {
    const policy = { allowPrivate: false, allowedDomains: ["example.com", "*.news.org"], deniedDomains: ["ads.example.com"] };
    expect(checkUrl("https://www.example.com/a", policy).hostname).toBe("www.example.com");
    expect(checkUrl("https://eu.news.org/", policy).hostname).toBe("eu.news.org");
    expect(() => checkUrl("https://news.org/", policy)).toThrow(/allowedDomains/);
    expect(() => checkUrl("https://ads.example.com/", policy)).toThrow(/deniedDomains/);
    expect(() => checkUrl("https://evil.example.net/", policy)).toThrow(/allowedDomains/);
  });

  it("covers only the scheme's default port with a domain rule without one, and only the named port with one", () => {
    const policy = { allowPrivate: false, allowedDomains: ["example.com", "api.example.net:8443"] };
    expect(checkUrl("https://example.com/", policy).host).toBe("example.com");
    expect(checkUrl("https://www.example.com:443/", policy).host).toBe("www.example.com");
    expect(checkUrl("http://example.com:80/", policy).host).toBe("example.com");
    expect(() => checkUrl("https://example.com:8443/", policy)).toThrow(/refused example\.com:8443: not in the goal's allowedDomains/);
    expect(() => checkUrl("http://example.com:443/", policy)).toThrow(/allowedDomains/);
    expect(checkUrl("https://api.example.net:8443/v1", policy).port).toBe("8443");
    expect(() => checkUrl("https://api.example.net/v1", policy)).toThrow(/allowedDomains/);
    // A block is not dodged by a port: a denied domain without one covers them all.
    expect(() => checkUrl("https://ads.example.org:8443/", { allowPrivate: false, deniedDomains: ["ads.example.org"] })).toThrow(/deniedDomains/);
    expect(checkUrl("https://ads.example.org/", { allowPrivate: false, deniedDomains: ["ads.example.org:8443"] }).host).toBe("ads.example.org");
  });

  it("checks every redirect hop: a public page redirecting to the metadata address is refused", async () => {
    const spy = vi
      .spyOn(globalThis, "fetch")
      .mockImplementation(async () => new Response(null, { status: 302, headers: { location: "http://169.254.169.254/latest/meta-data/" } }));
    await expect(guardedFetch("https://public.example.com/story", {}, closed)).rejects.toThrow(/169\.254\.169\.254.*link-local/);
    expect(spy).toHaveBeenCalledTimes(1);
  });

  it("checks redirects against the domain allowlist with real servers", async () => {
    const policy = { allowPrivate: true, allowedDomains: [new URL(pages()).host] };
    await expect(guardedFetch(`${pages()}/redirect/metadata`, {}, policy)).rejects.toThrow(/169\.254\.169\.254/);
    await expect(guardedFetch(`${pages()}/redirect/file`, {}, { allowPrivate: true })).rejects.toThrow(/file:/);
    await expect(guardedFetch(`${pages()}/redirect/loop`, {}, { allowPrivate: true })).rejects.toThrow(/too many redirects/);
    const ok = await guardedFetch(`${pages()}/redirect/article`, {}, policy);
    expect(ok.url).toBe(`${pages()}/article/1`);
    expect(ok.text()).toContain("<article>");
  });

  it.each([301, 302, 303, 307, 308])("drops credentials when a %i redirect leaves the origin, keeping only safe headers", async (status) => {
    const res = await guardedFetch(`${pages()}/redirect/cross/${status}`, { headers: { ...SECRET_HEADERS, ...SAFE_HEADERS } }, { allowPrivate: true });
    const got = echoed(res);
    expect(got.server).toBe("echo"); // another 127.0.0.1 port: another origin
    expect(res.url).not.toContain(pages());
    for (const name of ["authorization", "x-subscription-token", "x-api-key", "cookie"]) expect(got.headers).not.toHaveProperty(name);
    expect(got.headers).toMatchObject({ ...SAFE_HEADERS, "user-agent": USER_AGENT });
  });

  it("keeps the caller's headers on a same-origin redirect", async () => {
    const res = await guardedFetch(`${pages()}/redirect/same/302`, { headers: { ...SECRET_HEADERS, ...SAFE_HEADERS } }, { allowPrivate: true });
    const got = echoed(res);
    expect(got.server).toBe("pages");
    expect(got.headers).toMatchObject({
      authorization: "Bearer re_secret_for_resend",
      "x-subscription-token": "brave-secret",
      "x-api-key": "tavily-secret",
      cookie: "session=abc",
    });
  });

  it("does not restore credentials when the redirect chain comes back to the first origin", async () => {
    const res = await guardedFetch(`${pages()}/redirect/cross-and-back`, { headers: SECRET_HEADERS }, { allowPrivate: true });
    const got = echoed(res);
    expect(got.server).toBe("pages");
    expect(got.headers).not.toHaveProperty("authorization");
    expect(got.headers).not.toHaveProperty("x-api-key");
  });

  it.each([303, 301, 302])("turns a POST answered with %i into a GET without body or body headers", async (status) => {
    const headers = { authorization: "Bearer k", "content-type": "application/json" };
    const got = echoed(await guardedFetch(`${pages()}/redirect/same/${status}`, { method: "POST", headers, body: '{"q":1}' }, { allowPrivate: true }));
    expect(got).toMatchObject({ server: "pages", method: "GET", body: "" });
    expect(got.headers).not.toHaveProperty("content-type");
    expect(got.headers.authorization).toBe("Bearer k"); // same origin: credentials stay
  });

  it("turns a 303 after PUT into a GET, and keeps method and body on a same-origin 307/308", async () => {
    const put = echoed(await guardedFetch(`${pages()}/redirect/same/303`, { method: "PUT", body: "x" }, { allowPrivate: true }));
    expect(put).toMatchObject({ method: "GET", body: "" });
    for (const status of [307, 308]) {
      const init = { method: "POST", headers: { "content-type": "application/json" }, body: '{"q":1}' };
      const got = echoed(await guardedFetch(`${pages()}/redirect/same/${status}`, init, { allowPrivate: true }));
      expect(got).toMatchObject({ server: "pages", method: "POST", body: '{"q":1}', headers: { "content-type": "application/json" } });
    }
  });

  it("refuses to replay a request body to another origin on 307/308", async () => {
    for (const status of [307, 308]) {
      const init = { method: "POST", headers: SECRET_HEADERS, body: '{"to":"team@example.com"}' };
      await expect(guardedFetch(`${pages()}/redirect/cross/${status}`, init, { allowPrivate: true })).rejects.toThrow(
        /refused to resend a POST body across origins/,
      );
    }
  });

  it("caps the download and sends a User-Agent", async () => {
    const big = await guardedFetch(`${pages()}/huge`, { maxBytes: 100_000 }, { allowPrivate: true });
    expect(big.truncated).toBe(true);
    expect(big.body.byteLength).toBe(100_000);
    const ua = await guardedFetch(`${pages()}/echo-ua`, {}, { allowPrivate: true });
    expect(ua.text()).toBe(`ua=${USER_AGENT}`);
  });

  it("times out a server that does not answer", async () => {
    await expect(guardedFetch(`${pages()}/slow`, { timeoutMs: 300 }, { allowPrivate: true })).rejects.toThrow(/^timed out after 300 ms fetching 127\.0\.0\.1/);
  });

  it("retries a delivery on network errors, then reports it undelivered", async () => {
    const d = await deliverWebhook(env, { url: "http://127.0.0.1:1/hook", id: "msg_net", body: "{}", policy: { allowPrivate: true } }, { backoffMs: 10 });
    expect(d).toMatchObject({ delivered: false, status: null, attempts: 3, error: expect.stringMatching(/^network error fetching 127\.0\.0\.1:1/) });
  });

  it("fetch_page and send_webhook refuse the local fakes when the flag is off", async () => {
    const ctx = await toolContext({ webhookUrl: `${env.TEST_WEBHOOK_RECEIVER_URL}/hooks/closed` }, { ALLOW_PRIVATE_NETWORK: "false" });
    await expect(runTool("fetch_page", { url: `${pages()}/article/1` }, ctx)).rejects.toThrow(/127\.0\.0\.1: loopback/);
    await expect(runTool("fetch_page", { url: "http://[::ffff:7f00:1]/" }, ctx)).rejects.toThrow(ToolError);
    await expect(runTool("send_webhook", { payload: { a: 1 } }, ctx)).rejects.toThrow(/loopback/);
  });
});

describe("webhook signing", () => {
  it("matches the Standard Webhooks reference vector", async () => {
    // From the standard-webhooks test suite (libraries/javascript/src/index.test.ts).
    const sig = await signWebhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, '{"test": 2432232314}');
    expect(sig).toBe("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  });
});

describe("fetch provenance", () => {
  const fetchPage = (url: string) => ({ name: "fetch_page", arguments: { url } });
  const finish = { toolCalls: [{ name: "finish", arguments: { summary: "done" } }] };
  const secret = "notes-the-agent-read";

  it("relearns a stored result's links on resume even when its step also carries the model's warning", async () => {
    const goal = await createGoal({});
    const runId = newId("run");
    await insertRunRow({ id: runId, goalId: goal.id, status: "running", createdAt: Date.now() });
    const row = (stepNo: number, observation: string, error: string | null) =>
      env.DB.prepare("INSERT INTO steps (run_id, step_no, tool_name, observation, error, created_at) VALUES (?, ?, 'fetch_page', ?, ?, ?)")
        .bind(runId, stepNo, observation, error, Date.now())
        .run();
    await row(1, "Page text with [a link](https://ex.org/warned)", "ollama truncated the prompt to 4096 tokens");
    await row(2, "Error: fetch_page failed: https://ex.org/failed answered 500", "fetch_page failed: https://ex.org/failed answered 500");
    const found = await linkSourceSteps(dbFor(env.DB), runId, ["fetch_page"]);
    expect(found.map((s) => s.observation)).toEqual(["Page text with [a link](https://ex.org/warned)"]);
  });

  it("compares URLs without fragment, trailing slash, host case or scheme, but with their query", () => {
    expect(urlsIn("See [the paper](https://ex.org/wiki/Foo_(bar)), and https://ex.org/a.")).toEqual(
      expect.arrayContaining(["https://ex.org/wiki/Foo_(bar)", "https://ex.org/a"]),
    );
    const p = new Provenance({ objective: "Watch https://News.example.com/list/?page=2 and blog.example.org", params: {} });
    p.add(urlsIn("[next](https://ex.org/wiki/Foo_(bar))"));
    for (const ok of [
      "https://news.example.com/list?page=2#top",
      "http://NEWS.example.com/list/?page=2",
      "https://blog.example.org",
      "https://ex.org/wiki/Foo_(bar)",
    ])
      expect(p.refusal(ok)).toBeNull();
    for (const no of [
      "https://news.example.com/list?page=3",
      "https://news.example.com/list?page=2&d=x",
      "https://blog.example.org/?d=x",
      "https://news.example.com/",
      // More than one trailing slash: their number could carry data.
      "https://news.example.com/list///?page=2",
    ])
      expect(p.refusal(no)).toMatch(/^refused .*not in the objective/);
  });

  it("follows a link on a fetched page and a search result, and refuses a URL made up from what it read", async () => {
    const { run } = await startScriptedRun(
      {
        turns: [
          { toolCalls: [fetchPage(`${pages()}/injected/3`), { name: "web_search", arguments: { query: "AI regulation" } }] },
          {
            toolCalls: [
              fetchPage(`${pages()}/echo?d=${secret}`), // what an injected page asks for: data in a URL
              fetchPage(`${pages()}/research/ai-regulation-3`), // a (relative) link on the injected page
              fetchPage(`${pages()}/article/2#latest`), // a search result, with a fragment
              fetchPage(`${pages()}/article/2?d=${secret}`), // a search result with a made-up query
            ],
          },
          finish,
        ],
      },
      { objective: `Summarise this week's AI regulation news, starting at ${pages()}/injected/3` },
    );
    expect((await waitForRunEnd(run.id)).status).toBe("completed");
    const steps = await stepsOf(run.id);
    expect(steps.map((s) => [s.toolName, s.error === null])).toEqual([
      ["fetch_page", true],
      ["web_search", true],
      ["fetch_page", false],
      ["fetch_page", true],
      ["fetch_page", true],
      ["fetch_page", false],
      ["finish", true],
    ]);
    expect(steps[0].observation).toContain(`(${pages()}/research/ai-regulation-3)`);
    for (const refused of [steps[2], steps[5]]) {
      expect(refused.observation).toMatch(
        /^Error: fetch_page failed: refused .*: this URL is not in the objective, the run's input, a search result or a page fetched in this run/,
      );
      expect(refused.observation).toContain(`adds "${new URL(pages()).host}" to the goal's params.allowedDomains or sets params.fetchPolicy to "any"`);
    }
    expect(steps[3].observation).toContain("Robotics: what changed in week 4");
    expect(steps[4].observation).toContain("Inference chips: what changed in week 2");
  });

  it("fetches a made-up URL under fetchPolicy any or on an allowed host:port; an allowed host without the port is not reached", async () => {
    const madeUp = { turns: [{ toolCalls: [fetchPage(`${pages()}/echo?d=${secret}`)] }, finish] };
    const host = new URL(pages()).host;
    const [any, withPort, withoutPort] = await Promise.all([
      startScriptedRun(madeUp, { params: { fetchPolicy: "any" } }),
      startScriptedRun(madeUp, { params: { allowedDomains: [host] } }),
      // Even a URL from the objective: the rule "127.0.0.1" covers ports 80 and 443 only.
      startScriptedRun(
        { turns: [{ toolCalls: [fetchPage(`${pages()}/article/1`)] }, finish] },
        { objective: `Read ${pages()}/article/1`, params: { allowedDomains: ["127.0.0.1"] } },
      ),
    ]);
    for (const { run } of [any, withPort]) {
      await waitForRunEnd(run.id);
      const [step] = await stepsOf(run.id);
      expect(step.error).toBeNull();
      expect(step.observation).toContain(`URL: ${pages()}/echo?d=${secret}`);
      expect(step.observation).toContain('"server":"pages"');
    }
    await waitForRunEnd(withoutPort.run.id);
    const [step] = await stepsOf(withoutPort.run.id);
    expect(step.error).toMatch(
      new RegExp(`refused ${host.replace(/\./g, "\\.")}: not in the goal's allowedDomains \\(127\\.0\\.0\\.1; a domain without :port`),
    );
  });
});
