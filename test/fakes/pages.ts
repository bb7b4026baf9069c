/**
 * A small web: article pages and the research pages they link to, a ~1 MB page, JSON/text/markdown/RSS/binary resources, slow
 * pages, one that never finishes, a 2 GB body generated as it is read, and redirects
 * (to a page, to a cloud metadata address, in a loop, to /echo on this or another origin with any 3xx
 * status). Other fakes link here via `pagesUrl()`.
 */
import { articleHtml, largeHtml } from "./html-corpus";
import { echoRequest, echoUrl } from "./echo";
import type { ServerResponse } from "node:http";
import { serve, type Fake } from "./http";

let port = 0;
/** The page server's base URL (set once it listens; requests come later). */
export const pagesUrl = () => `http://127.0.0.1:${port}`;

const LARGE = largeHtml(1024 * 1024);
/** A page that tries to drive the terminal of whoever prints it: window title, clear screen, clipboard write, bell, C1 CSI. */
export const TERMINAL_ESCAPES =
  "Headline\x1b]0;pwned-title\x07 here\n\x1b[2J\x1b[Hscreen cleared\n\x1b]52;c;cHduZWQ=\x07clipboard\n\u009b31mC1 red\x7f\x1b[0m done";
/** Plain text that looks like markup: a page observation the dashboard must show as text. */
export const MARKUP_TEXT = 'Notes <script>alert("from-page")</script> and <img src=x onerror=alert("img-from-page")> end';
const PNG = Buffer.from("89504e470d0a1a0a0000000d4948445200000001000000010806000000", "hex");

/**
 * A body of `size` bytes announced by Content-Length and generated as the client reads it (backpressure), so a
 * 2 GB response costs nothing unless someone downloads it all. Stops when the client goes away.
 */
function serveLazily(res: ServerResponse, size: number) {
  const chunk = Buffer.alloc(64 * 1024, "a");
  let sent = 0;
  res.writeHead(200, { "content-type": "text/plain", "content-length": String(size) });
  const pump = () => {
    while (sent < size && !res.destroyed) {
      const n = Math.min(chunk.length, size - sent);
      sent += n;
      if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void res.once("drain", pump);
    }
    if (!res.destroyed) res.end();
  };
  res.on("close", () => (sent = size));
  pump();
}

export async function startPages(): Promise<Fake> {
  const fake = await serve((req, reqBody, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const p = url.pathname;
    const send = (status: number, type: string, body: string | Buffer, headers: Record<string, string> = {}) => {
      res.writeHead(status, { "content-type": type, ...headers });
      res.end(body);
    };
    let m: RegExpMatchArray | null;
    if ((m = p.match(/^\/article\/(\d+)$/))) return send(200, "text/html; charset=utf-8", articleHtml(Number(m[1])));
    if ((m = p.match(/^\/injected\/(\d+)$/))) return send(200, "text/html; charset=utf-8", articleHtml(Number(m[1]), { injection: true }));
    // The papers the articles link to (relative links: /research/<topic>-<n>).
    if ((m = p.match(/^\/research\/[a-z-]+-(\d+)$/))) return send(200, "text/html; charset=utf-8", articleHtml(Number(m[1]) + 1));
    if (p === "/latin1")
      return send(
        200,
        "text/html",
        Buffer.from('<html><head><meta charset="iso-8859-1"><title>Caf\xe9</title></head><body><p>Cr\xe8me br\xfbl\xe9e</p></body></html>', "latin1"),
      );
    if (p === "/large") return send(200, "text/html; charset=utf-8", LARGE);
    if (p === "/huge") return send(200, "text/plain", "x".repeat(3 * 1024 * 1024));
    if (p === "/data.json") return send(200, "application/json", JSON.stringify({ items: [{ title: "Alpha released", score: 71.2 }] }));
    if (p === "/notes.txt") return send(200, "text/plain; charset=utf-8", "plain text notes\nline two");
    if (p === "/terminal-escapes.txt") return send(200, "text/plain; charset=utf-8", TERMINAL_ESCAPES);
    // Markup as text (dashboard tests: an observation that must show as text, never run).
    if (p === "/markup.txt") return send(200, "text/plain; charset=utf-8", MARKUP_TEXT);
    if (p === "/readme.md") return send(200, "text/markdown", "# Readme\n\nSome *markdown*.");
    if (p === "/feed.xml") return send(200, "application/rss+xml", `<?xml version="1.0"?><rss><channel><item><title>Feed item</title></item></channel></rss>`);
    if (p === "/logo.png") return send(200, "image/png", PNG);
    if (p === "/unknown.bin") return send(200, "application/octet-stream", Buffer.from([0, 1, 2, 3, 0, 255]));
    if (p === "/redirect/article") return send(302, "text/plain", "", { location: "/article/1" });
    if (p === "/redirect/metadata") return send(302, "text/plain", "", { location: "http://169.254.169.254/latest/meta-data/" });
    if (p === "/redirect/loop") return send(302, "text/plain", "", { location: "/redirect/loop" });
    if (p === "/redirect/file") return send(301, "text/plain", "", { location: "file:///etc/passwd" });
    if ((m = p.match(/^\/redirect\/(same|cross)\/(30[12378])$/)))
      return send(Number(m[2]), "text/plain", "", { location: m[1] === "same" ? "/echo" : `${echoUrl()}/echo` });
    if (p === "/redirect/cross-and-back") return send(302, "text/plain", "", { location: `${echoUrl()}/redirect/back` });
    if (p === "/echo") return echoRequest("pages", req, reqBody, res);
    if (p === "/slow") return void setTimeout(() => send(200, "text/plain", "late"), 5_000).unref();
    // A page that takes as long as asked (restart tests kill the Worker while a tool waits on it).
    if ((m = p.match(/^\/slow\/(\d+)$/))) {
      const ms = Number(m[1]);
      return void setTimeout(() => send(200, "text/plain", `late by ${ms} ms`), ms).unref();
    }
    // A page that never finishes: headers and a first line, then nothing until the client gives up.
    if (p === "/never-ends") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      return void res.write("<html><body><p>This page never finishes loading");
    }
    if (p === "/two-gigabytes") return serveLazily(res, 2 * 1024 ** 3);
    if (p === "/echo-ua") return send(200, "text/plain", `ua=${req.headers["user-agent"] ?? ""}`);
    if ((m = p.match(/^\/status\/(\d+)$/))) return send(Number(m[1]), "text/plain", `status ${m[1]}`);
    return send(404, "text/html", "<h1>Not found</h1>");
  });
  port = fake.port;
  return fake;
}
