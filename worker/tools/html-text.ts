/**
 * HTML → readable markdown-ish text: title, headings, paragraphs, lists, tables, code and links;
 * scripts, styles, navigation, forms and hidden chrome dropped; when the page has a <main> or
 * <article> with real text, only that is kept.
 *
 * Why a single-pass scanner and not workerd's HTMLRewriter: HTMLRewriter parses a 1 MB page in ~10 ms,
 * but every element/text callback crosses from the parser into JS, and a 1 MB news page has ~70k of
 * them (30k elements, 40k text chunks): measured 0.4–2.3 s per page here, far over the 50 ms target
 * and the CPU limits. One regex-driven pass over the string stays in V8: ~25 ms median for 1 MB in
 * workerd (`npm run bench:tools`).
 */
// Chrome and non-content: their whole subtree is dropped.
const SKIP_TAGS = new Set([
  "script",
  "style",
  "noscript",
  "template",
  "svg",
  "iframe",
  "object",
  "canvas",
  "nav",
  "footer",
  "aside",
  "form",
  "button",
  "select",
  "textarea",
  "dialog",
]);
const SKIP_NAMES = /(^|[\s_-])(cookie|consent|sidebar|advert|ads|share|social|newsletter|related)([\s_-]|$)/i;
const BLOCK = new Set([
  "p",
  "div",
  "section",
  "article",
  "main",
  "blockquote",
  "table",
  "figure",
  "figcaption",
  "dl",
  "dt",
  "dd",
  "address",
  "details",
  "summary",
]);
const MAIN = new Set(["main", "article"]);
const VOID = new Set(["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"]);

const ENTITIES: Record<string, string> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
  nbsp: " ",
  mdash: "—",
  ndash: "–",
  hellip: "…",
  rsquo: "’",
  lsquo: "‘",
  ldquo: "“",
  rdquo: "”",
  copy: "©",
  reg: "®",
  trade: "™",
  middot: "·",
  bull: "•",
  laquo: "«",
  raquo: "»",
  euro: "€",
  pound: "£",
  times: "×",
  deg: "°",
  shy: "",
};

export function decodeEntities(s: string): string {
  if (!s.includes("&")) return s;
  return s.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (m, e: string) => {
    if (e[0] === "#") {
      const code = e[1] === "x" || e[1] === "X" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return code > 0 && code < 0x110000 ? String.fromCodePoint(code) : m;
    }
    return ENTITIES[e.toLowerCase()] ?? m;
  });
}

export type Extracted = { title: string; text: string };

// Elements whose raw content is never markup (the scanner jumps to their end tag).
const RAW_TEXT = new Set(["script", "style", "textarea", "title", "xmp", "noscript", "template", "iframe", "noembed", "noframes"]);
const TOKEN = /<!--[\s\S]*?(?:-->|$)|<![^>]*>|<\?[^>]*>|<(\/?)([a-zA-Z][a-zA-Z0-9:-]*)((?:[^>"']|"[^"]*"|'[^']*')*)>/g;
const ATTR_SKIP = /(?:^|\s)(?:hidden(?:\s|=|$)|aria-hidden\s*=\s*["']?true|role\s*=\s*["']?(?:navigation|banner|contentinfo|complementary|search)\b)/i;
const ATTR_NAMES = /(?:^|\s)(?:id|class)\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)/gi;
const ATTR_MAIN = /(?:^|\s)role\s*=\s*["']?main\b/i;
const NEEDS_COLLAPSE = /[\t\n\r\f\v\u00a0]| {2}/;
const HREF = /(?:^|\s)href\s*=\s*("([^"]*)"|'([^']*)'|([^\s>]+))/i;

type Open = { tag: string; close: string | null; skip: boolean; main: boolean; pre: boolean; list: boolean; href: string | null };

function skipByAttrs(attrs: string): boolean {
  if (ATTR_SKIP.test(attrs)) return true;
  ATTR_NAMES.lastIndex = 0;
  for (let m: RegExpExecArray | null; (m = ATTR_NAMES.exec(attrs)); ) if (SKIP_NAMES.test(m[1].replace(/^["']|["']$/g, ""))) return true;
  return false;
}

/**
 * The text being built. Spaces and line breaks are settled as they are written (a space is held back
 * until something follows it on the same line; at most one blank line), so no whole-text regex passes
 * are needed afterwards: on a 1 MB page each such pass costs several milliseconds.
 */
class Out {
  s = "";
  private nl = 2; // trailing newlines already written (2 at the start: no leading breaks)
  private space = false;
  /** Text (already whitespace-collapsed, no newlines). */
  text(t: string) {
    if (t.charCodeAt(0) === 32) {
      t = t.slice(1);
      if (this.nl === 0) this.space = true;
    }
    if (!t) return;
    const trailing = t.charCodeAt(t.length - 1) === 32;
    if (trailing) t = t.slice(0, -1);
    if (t) {
      this.s += this.space && this.nl === 0 ? ` ${t}` : t;
      this.nl = 0;
    }
    this.space = trailing || (this.space && !t);
  }
  /** A closing marker that sticks to the text before it ("](url)", "`"); a held space goes after it. */
  attach(t: string) {
    this.s += t;
    this.nl = 0;
  }
  /** n line breaks, merged with those already there. */
  breaks(n: number) {
    if (this.nl < n) this.s += n - this.nl === 1 ? "\n" : "\n\n";
    this.nl = Math.max(this.nl, n);
    this.space = false;
  }
  /** Preformatted text, as is. */
  raw(t: string) {
    this.s += t;
    this.nl = t.endsWith("\n") ? 1 : 0;
    this.space = false;
  }
}

/** Extracts readable text from an HTML document; `baseUrl` resolves relative links. */
export function htmlToText(html: string, baseUrl: string): Extracted {
  let title = "";
  let skip = 0;
  let pre = 0;
  let mainDepth = 0;
  const all = new Out();
  const main = new Out();
  const stack: Open[] = [];
  const lists: { ordered: boolean; n: number }[] = [];
  // A link's "[" is written with its first text, so icon-only links leave no "[](url)" behind.
  let link: Open | null = null;
  // Writes go to the whole text and, inside <main>/<article>, to the main text too (never in a dropped subtree).
  const w = {
    text: (t: string) => {
      if (skip) return;
      all.text(t);
      if (mainDepth) main.text(t);
    },
    raw: (t: string) => {
      if (skip) return;
      all.raw(t);
      if (mainDepth) main.raw(t);
    },
    breaks: (n: number) => {
      if (skip) return;
      all.breaks(n);
      if (mainDepth) main.breaks(n);
    },
    attach: (t: string) => {
      if (skip) return;
      all.attach(t);
      if (mainDepth) main.attach(t);
    },
  };
  const text = (raw: string) => {
    if (skip || !raw) return;
    const s = decodeEntities(raw);
    if (pre) return w.raw(s);
    let t = NEEDS_COLLAPSE.test(s) ? s.replace(/\s+/g, " ") : s;
    if (link && t !== " ") {
      const l = link;
      link = null;
      if (t.charCodeAt(0) === 32) {
        w.text(" ");
        t = t.slice(1);
      }
      w.text("[");
      l.close = `](${l.href})`;
    }
    w.text(t);
  };
  const pop = (o: Open) => {
    if (o.close !== null) {
      const close = o.close;
      if (close.startsWith("\n")) w.breaks(close.length > 1 && close[1] === "\n" ? 2 : 1);
      else w.attach(close);
    }
    if (o === link) link = null;
    if (o.skip) skip--;
    if (o.main) mainDepth--;
    if (o.pre) {
      pre--;
      w.breaks(1);
      w.raw("```");
      w.breaks(2);
    }
    if (o.list) lists.pop();
  };

  TOKEN.lastIndex = 0;
  let at = 0;
  for (let m: RegExpExecArray | null; (m = TOKEN.exec(html)); ) {
    if (m.index > at) text(html.slice(at, m.index));
    at = TOKEN.lastIndex;
    if (m[2] === undefined) continue; // comment, doctype, processing instruction
    const tag = m[2].toLowerCase();
    if (m[1]) {
      // An end tag closes the nearest open element of that name, and any left unclosed inside it.
      for (let i = stack.length - 1; i >= 0; i--)
        if (stack[i].tag === tag) {
          while (stack.length > i) pop(stack.pop()!);
          break;
        }
      continue;
    }
    const attrs = m[3];
    if (RAW_TEXT.has(tag)) {
      const end = indexOfEndTag(html, tag, at);
      if (tag === "title" && !title) title = html.slice(at, end < 0 ? html.length : end);
      at = end < 0 ? html.length : html.indexOf(">", end) + 1 || html.length;
      TOKEN.lastIndex = at;
      continue;
    }
    if (VOID.has(tag) || attrs.endsWith("/")) {
      if (tag === "br" || tag === "hr") w.breaks(1);
      continue;
    }
    const o: Open = { tag, close: null, skip: false, main: false, pre: false, list: false, href: null };
    stack.push(o);
    if (skip) continue; // inside a dropped subtree: only nesting matters
    if (SKIP_TAGS.has(tag) || (tag === "header" && !mainDepth) || (attrs.length > 2 && skipByAttrs(attrs))) {
      o.skip = true;
      skip++;
      continue;
    }
    if (MAIN.has(tag) || (attrs.length > 2 && ATTR_MAIN.test(attrs))) {
      o.main = true;
      mainDepth++;
    }
    if (tag.length === 2 && tag[0] === "h" && tag[1] >= "1" && tag[1] <= "6") {
      const hashes = "#".repeat(Number(tag[1]));
      w.breaks(2);
      w.text(`${hashes} `);
      o.close = "\n\n";
    } else if (tag === "li") {
      const list = lists.at(-1);
      const marker = `${"  ".repeat(Math.max(0, lists.length - 1))}${list?.ordered ? `${++list.n}.` : "-"} `;
      w.breaks(1);
      w.raw(marker);
    } else if (tag === "td" || tag === "th") w.text(" | ");
    else if (tag === "tr") w.breaks(1);
    else if (tag === "ul" || tag === "ol") {
      lists.push({ ordered: tag === "ol", n: 0 });
      o.list = true;
      w.breaks(1);
      o.close = "\n";
    } else if (tag === "pre") {
      w.breaks(2);
      w.raw("```\n");
      pre++;
      o.pre = true;
    } else if (tag === "code") {
      if (!pre) {
        w.text("`");
        o.close = "`";
      }
    } else if (tag === "a") {
      const h = HREF.exec(attrs);
      o.href = h ? linkTarget(h[2] ?? h[3] ?? h[4], baseUrl) : null;
      if (o.href) link = o;
    } else if (BLOCK.has(tag)) {
      w.breaks(2);
      o.close = "\n\n";
    }
  }
  if (at < html.length) text(html.slice(at));
  while (stack.length) pop(stack.pop()!);
  const chosen = main.s.length >= 800 && main.s.trim().length >= 400 ? main : all;
  return { title: decodeEntities(title).replace(/\s+/g, " ").trim(), text: chosen.s.trim() };
}

const END_TAGS = new Map<string, RegExp>();
/** Where `</tag` starts at or after `from` (case-insensitive), or -1. */
function indexOfEndTag(html: string, tag: string, from: number): number {
  // Lower-case end tags are the norm: a plain indexOf first, the regex only when that finds nothing.
  const plain = html.indexOf(`</${tag}`, from);
  if (plain >= 0) return plain;
  let re = END_TAGS.get(tag);
  if (!re) END_TAGS.set(tag, (re = new RegExp(`</${tag}[\\s>/]`, "gi")));
  re.lastIndex = from;
  return re.exec(html)?.index ?? -1;
}

function linkTarget(raw: string | null | undefined, base: string): string | null {
  if (!raw || raw[0] === "#") return null;
  // Most hrefs are already absolute or root-relative: skip the URL parser (a 1 MB page has thousands).
  if (/^https?:\/\/[^\s&<>"'\\]+$/.test(raw)) return raw;
  try {
    const u = new URL(decodeEntities(raw.trim()), base);
    return u.protocol === "http:" || u.protocol === "https:" ? u.toString() : null;
  } catch {
    return null;
  }
}
