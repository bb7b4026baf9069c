/**
 * A second origin for redirect tests (another 127.0.0.1 port is another origin): GET/POST /echo answers
 * with the request it received (method, headers, body) as JSON, so a test can see exactly which
 * headers a redirect hop carried. The page server (pages.ts) redirects here and serves /echo itself too.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { sendJson, serve, type Fake } from "./http";
import { pagesUrl } from "./pages";

export type Echoed = { server: string; method: string; headers: Record<string, string>; body: string };

let port = 0;
/** The echo server's base URL (set once it listens). */
export const echoUrl = () => `http://127.0.0.1:${port}`;

export function echoRequest(server: string, req: IncomingMessage, body: string, res: ServerResponse) {
  const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(", ") : (v ?? "")]));
  const echoed: Echoed = { server, method: req.method ?? "", headers, body };
  sendJson(res, 200, echoed);
}

export async function startEcho(): Promise<Fake> {
  const fake = await serve((req, body, res) => {
    const p = new URL(req.url ?? "/", "http://x").pathname;
    if (p === "/echo") return echoRequest("echo", req, body, res);
    // Back to the page server: a chain that leaves the first origin and returns to it.
    if (p === "/redirect/back") {
      res.writeHead(302, { location: `${pagesUrl()}/echo` });
      return void res.end();
    }
    sendJson(res, 404, { error: "not found" });
  });
  port = fake.port;
  return fake;
}
