/**
 * Paths of a goal's files, relative to its R2 prefix. Untrusted input (the model, API callers) must
 * never escape the prefix: `..`, absolute paths, backslashes, control characters and over-long names
 * are refused rather than "fixed", so the caller learns what was wrong.
 */
export const MAX_PATH_BYTES = 512;
const MAX_SEGMENT_BYTES = 200;

export class FilePathError extends Error {}

/** "reports//2026/./week.md" → "reports/2026/week.md"; throws FilePathError on anything unsafe. */
export function normalizePath(raw: string, opts: { allowEmpty?: boolean } = {}): string {
  if (/[\u0000-\u001f\u007f]/.test(raw)) throw new FilePathError("path contains a control character (NUL, newline...)");
  if (raw.includes("\\")) throw new FilePathError("path contains a backslash: use / between folders");
  if (raw.startsWith("/") || raw.startsWith("~") || /^[a-z]:/i.test(raw)) throw new FilePathError("path must be relative (no leading /, ~ or drive letter)");
  const segments = raw.split("/").filter((s) => s !== "" && s !== ".");
  if (segments.some((s) => s === "..")) throw new FilePathError("path must not contain '..'");
  const enc = new TextEncoder();
  if (segments.some((s) => enc.encode(s).length > MAX_SEGMENT_BYTES)) throw new FilePathError(`a path segment is over ${MAX_SEGMENT_BYTES} bytes`);
  const path = segments.join("/");
  if (enc.encode(path).length > MAX_PATH_BYTES) throw new FilePathError(`path is over ${MAX_PATH_BYTES} bytes`);
  if (!path && !opts.allowEmpty) throw new FilePathError("path is empty");
  return path;
}

const TYPES: Record<string, string> = {
  md: "text/markdown; charset=utf-8",
  markdown: "text/markdown; charset=utf-8",
  txt: "text/plain; charset=utf-8",
  log: "text/plain; charset=utf-8",
  csv: "text/csv; charset=utf-8",
  tsv: "text/tab-separated-values; charset=utf-8",
  json: "application/json; charset=utf-8",
  jsonl: "application/x-ndjson; charset=utf-8",
  html: "text/html; charset=utf-8",
  htm: "text/html; charset=utf-8",
  xml: "application/xml; charset=utf-8",
  yaml: "application/yaml; charset=utf-8",
  yml: "application/yaml; charset=utf-8",
  svg: "image/svg+xml",
};

/** The content type of a file, from its extension (the agent only writes text). */
export function contentTypeFor(path: string): string {
  const ext = /\.([a-z0-9]+)$/i.exec(path)?.[1]?.toLowerCase() ?? "";
  return TYPES[ext] ?? "text/plain; charset=utf-8";
}
