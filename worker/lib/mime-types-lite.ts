/**
 * Stands in for the `mime-types` package in the Worker bundle (wrangler.toml `[alias]`). The agents SDK bundles
 * `mimetext` for its email helpers, which we do not use; mimetext imports mime-types only to validate an
 * attachment's content type, and mime-types carries the whole mime-db (~134 KiB raw) for that. A content type
 * is accepted here when it has the type/subtype shape.
 */
export function contentType(type: string): string | false {
  return /^[\w.+-]+\/[\w.+-]+(\s*;.*)?$/.test(type) ? type : false;
}

export function lookup(_path: string): string | false {
  return false;
}
