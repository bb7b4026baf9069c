/**
 * Stands in for zod's `locales/index.js` in the Worker bundle (wrangler.toml `[alias]`; wrangler matches an alias
 * against the import exactly as written, and only zod's `v4/classic/external.js` and `v4/core/index.js` import
 * "../locales/index.js"). Those files re-export every locale as the `locales` namespace, which esbuild cannot
 * drop once `z` is passed around as a value (as @hono/zod-openapi does). zod configures English itself, from
 * `locales/en.js`; we never switch language, so English is the only locale the namespace keeps.
 */
export { default as en } from "zod/v4/locales/en.js";
