/**
 * Text from the model, its tools and the web reaches the terminal only through here. A fetched page
 * can carry escape sequences (set the window title with OSC 0/2, clear the screen, write the
 * clipboard with OSC 52, ring the bell); printed raw, the terminal would obey them. Every control
 * character except newline and tab becomes visible instead: C0 and DEL as their Unicode control
 * pictures (ESC → ␛, BEL → ␇), C1 (0x80–0x9F) as `\x9b`, bidi overrides as `\u202e`. JSON output is exact JSON and stays so.
 */

// C0 except \t and \n, DEL, C1, and the bidirectional overrides and isolates (which reorder what follows them
// on the line, "Trojan Source"). A CRLF line end is a line end, not a stray carriage return.
// eslint-disable-next-line no-control-regex
const CONTROL = /\r\n|[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;
// What the printer itself emits: picocolors' single-code SGR sequences (styles, the 16 colours and their resets),
// but not 8 (hidden), which the printer never uses and data could use to hide what follows it. Anything else
// (truecolor, several codes in one sequence, cursor moves) from data is shown, not obeyed.
// eslint-disable-next-line no-control-regex
const OWN_SGR = /\x1b\[(?:[0-79]|2[2-9]|3[0-79]|4[0-79]|9[0-7]|10[0-7])m/g;

function picture(ch: string): string {
  if (ch === "\r\n") return "\n";
  const code = ch.charCodeAt(0);
  if (code < 0x20) return String.fromCharCode(0x2400 + code);
  if (code === 0x7f) return "\u2421";
  if (code > 0xff) return `\\u${code.toString(16)}`;
  return `\\x${code.toString(16)}`;
}

/** `s` with every control character but \n and \t made visible. */
export const visible = (s: string): string => s.replace(CONTROL, picture);

/** `v` with every string in it (deeply) made visible: API data on its way to a human renderer. */
export function visibleDeep<T>(v: T): T {
  if (typeof v === "string") return visible(v) as T;
  if (Array.isArray(v)) return v.map(visibleDeep) as T;
  if (v && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype)
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, visibleDeep(x)])) as T;
  return v;
}

/**
 * The last gate before a line is written: our own colour codes pass, any other control character
 * is made visible. Data is made visible before it is coloured; this catches a call site that forgot.
 */
export function gate(line: string): string {
  let out = "";
  let last = 0;
  for (const m of line.matchAll(OWN_SGR)) {
    out += visible(line.slice(last, m.index)) + m[0];
    last = m.index + m[0].length;
  }
  return out + visible(line.slice(last));
}

/**
 * JSON text safe for a terminal and still the same JSON: JSON.stringify escapes C0 but writes DEL
 * and C1 raw (some terminals act on a UTF-8 encoded C1 CSI); they can only occur inside strings,
 * where `\u009b` parses back to the same character.
 */
export const jsonText = (json: string): string => json.replace(/[\x7f-\x9f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
