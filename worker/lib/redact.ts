/**
 * Removes configured secret values from text that may reach the model, outputs, logs or API responses.
 * Providers rarely echo a key verbatim; they echo forms derived from it, so those are removed too:
 * its base64 (standard and url-safe, also inside a longer encoding such as HTTP Basic's
 * base64("user:secret")), and a masked form showing its head and/or tail around "…", "..." or "****".
 */
import type { Env } from "./env";

const SECRET_NAME = /(KEY|SECRET|TOKEN|PASSWORD)$/;
const REDACTED = "[redacted]";
/** The fewest characters of a secret's head or tail that a masked form may show and still be removed. */
const MIN_MASKED_PART = 4;
/** The shortest base64 run worth removing (6 bytes of the secret): shorter runs match ordinary text. */
const MIN_B64_CORE = 8;
/** The mask between the head and the tail of a masked key: an ellipsis, three or more dots, or stars/bullets. */
const MASK = /…|\.{3,}|\*{2,}|•{2,}/g;
/** MASK without the global flag, whose lastIndex would leak into the next matchAll. */
const HAS_MASK = new RegExp(MASK.source);

const toBase64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const urlSafe = (b64: string) => b64.replace(/\+/g, "-").replace(/\//g, "_");

/**
 * The base64 strings that any encoding containing the secret's bytes contains, at each of the three
 * byte alignments (a prefix such as "user:" shifts it): the complete 3-byte groups of secret bytes
 * encode the same way wherever they sit. Longest first, both alphabets.
 */
function base64Forms(secret: string): string[] {
  const bytes = new TextEncoder().encode(secret);
  const full = toBase64(bytes);
  const forms = [full, full.replace(/=+$/, "")];
  for (let shift = 0; shift < 3; shift++) {
    const groups = bytes.slice(shift, shift + Math.floor((bytes.length - shift) / 3) * 3);
    const core = toBase64(groups);
    if (core.length >= MIN_B64_CORE) forms.push(core);
  }
  return [...new Set(forms.flatMap((f) => [f, urlSafe(f)]))].sort((a, b) => b.length - a.length);
}

/** Derived forms per secret value, once per isolate (the env's secrets rarely change). */
const formsCache = new Map<string, string[]>();
function formsOf(secret: string): string[] {
  let forms = formsCache.get(secret);
  if (!forms) {
    if (formsCache.size > 64) formsCache.clear();
    formsCache.set(secret, (forms = [secret, ...base64Forms(secret)]));
  }
  return forms;
}

/** Replaces each masked form of `secret` ([head] mask [tail], head or tail >= MIN_MASKED_PART characters) with REDACTED. */
function removeMasked(text: string, secret: string): string {
  let out = "";
  let done = 0;
  for (const m of text.matchAll(MASK)) {
    const at = m.index;
    const after = at + m[0].length;
    // Cheap rejects first: "..." and "**" are common in page text, and the text around them rarely
    // belongs to the secret.
    let tail = 0;
    if (secret.includes(text.slice(after, after + MIN_MASKED_PART)))
      for (let n = Math.min(secret.length - 1, text.length - after); n >= MIN_MASKED_PART && !tail; n--) if (text.startsWith(secret.slice(-n), after)) tail = n;
    let head = 0;
    if (tail || (at - done >= MIN_MASKED_PART && secret.includes(text.slice(at - MIN_MASKED_PART, at))))
      for (let n = Math.min(secret.length - 1, at - done); n >= 1 && !head; n--) if (text.startsWith(secret.slice(0, n), at - n)) head = n;
    if (head < MIN_MASKED_PART && tail < MIN_MASKED_PART) continue;
    out += text.slice(done, at - head) + REDACTED;
    done = after + tail;
  }
  return out + text.slice(done);
}

/** The env's secret values, once per env object: redaction runs on every tool result (the loop's hot path). */
const secretsCache = new WeakMap<object, string[]>();
function secretsOf(env: Env): string[] {
  let values = secretsCache.get(env);
  if (!values) {
    values = Object.entries(env as unknown as Record<string, unknown>).flatMap(([name, value]) =>
      SECRET_NAME.test(name) && typeof value === "string" && value.length >= 6 ? [value] : [],
    );
    secretsCache.set(env, values);
  }
  return values;
}

/**
 * `text` without the env's secrets, nor the `extra` values (an MCP server's header values, say: secrets that
 * live in D1, not in the env), in any of the forms above. Values shorter than 6 characters are left alone.
 */
export function redactSecrets(env: Env, text: string, extra: readonly string[] = []): string {
  let out = text;
  const values = extra.length ? [...secretsOf(env), ...extra.filter((v) => v.length >= 6)] : secretsOf(env);
  for (const value of values) {
    for (const form of formsOf(value)) if (out.includes(form)) out = out.split(form).join(REDACTED);
    // A masked form needs a mask: most texts have none, and then no secret needs the scan.
    if (HAS_MASK.test(out)) out = removeMasked(out, value);
  }
  return out;
}
