/** The Worker bench:tools runs under `wrangler dev`: extracts the same ~1 MB page on each request. */
import { htmlToText } from "../worker/tools/html-text";
import { largeHtml } from "../test/fakes/html-corpus";

const PAGE = largeHtml(1024 * 1024);

export default {
  async fetch(req: Request): Promise<Response> {
    if (new URL(req.url).pathname === "/noop") return Response.json({ ok: true });
    const t0 = performance.now();
    const { text } = await htmlToText(PAGE, "https://news.example.com/live");
    // performance.now() in workerd advances across I/O; the transform's stream reads count, and the
    // runner also times each request from outside as a cross-check.
    return Response.json({ ms: performance.now() - t0, inBytes: PAGE.length, outChars: text.length });
  },
} satisfies ExportedHandler;
