/**
 * The dashboard's build: Preact (JSX through Vite's own oxc transform, so no Babel preset is needed) into
 * static assets that the Worker serves (wrangler.toml [assets]). `.ci/dashboard.mjs` runs it before
 * `wrangler dev` and `wrangler deploy` and chooses the output directory.
 */
import { defineConfig } from "vite";

export default defineConfig({
  root: new URL(".", import.meta.url).pathname,
  // Everything the page loads is bundled (no CDN, no font; it works offline); public/ holds only _headers.
  publicDir: "public",
  // development: false: never Preact's dev JSX (it carries absolute source paths), whatever NODE_ENV says.
  oxc: { jsx: { runtime: "automatic", importSource: "preact", development: false } },
  build: {
    target: "es2022",
    // One small app: a single script and a single stylesheet load faster than split chunks on first visit.
    cssCodeSplit: false,
    modulePreload: false,
    reportCompressedSize: false,
  },
});
