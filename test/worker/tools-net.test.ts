import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { privateHostReason } from "../../worker/net/address";
import { checkUrl, EgressError, guardedFetch, USER_AGENT } from "../../worker/net/guarded-fetch";
import { deliverWebhook, signWebhook } from "../../worker/net/webhook-signing";
import { ToolError } from "../../worker/tools/tool";
import { runTool, toolContext } from "./tool-context";

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
  "http://[64:ff9b::a9fe:a9fe]/",
  "http://[2002:a9fe:a9fe::]/",
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

const PUBLIC = ["https://example.com/", "http://93.184.216.34/", "http://[2606:4700:4700::1111]/", "https://news.ycombinator.com/item?id=1", "http://172.32.0.1/"];

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

  it("checks every redirect hop: a public page redirecting to the metadata address is refused", async () => {
    const spy = vi.spyOn(globalThis, "fetch").mockImplementation(async () =>
      new Response(null, { status: 302, headers: { location: "http://169.254.169.254/latest/meta-data/" } }),
    );
    await expect(guardedFetch("https://public.example.com/story", {}, closed)).rejects.toThrow(/169\.254\.169\.254.*link-local/);
    expect(spy).toHaveBeenCalledTimes(1);
  });

  it("checks redirects against the domain allowlist with real servers", async () => {
    const policy = { allowPrivate: true, allowedDomains: ["127.0.0.1"] };
    await expect(guardedFetch(`${pages()}/redirect/metadata`, {}, policy)).rejects.toThrow(/169\.254\.169\.254/);
    await expect(guardedFetch(`${pages()}/redirect/file`, {}, { allowPrivate: true })).rejects.toThrow(/file:/);
    await expect(guardedFetch(`${pages()}/redirect/loop`, {}, { allowPrivate: true })).rejects.toThrow(/too many redirects/);
    const ok = await guardedFetch(`${pages()}/redirect/article`, {}, policy);
    expect(ok.url).toBe(`${pages()}/article/1`);
    expect(ok.text()).toContain("<article>");
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
    const sig = await signWebhook(
      "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
      "msg_p5jXN8AQM9LWM0D4loKWxJek",
      1614265330,
      '{"test": 2432232314}',
    );
    expect(sig).toBe("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  });
});
