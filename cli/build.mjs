// Bundles the CLI into one ESM file with a shebang: `node build.mjs` (run by `prepare`, so by
// `npm install` at the repo root and by `npm pack`). Node >= 22.12 is all the result needs.
import { chmod, readFile } from "node:fs/promises";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const here = new URL(".", import.meta.url);
const pkg = JSON.parse(await readFile(new URL("package.json", here), "utf8"));
const outfile = new URL("dist/async-agent.js", here).pathname;
const common = { bundle: true, platform: "node", format: "esm", target: "node22", minify: true, legalComments: "none", logLevel: "warning" };

/**
 * zod's namespace re-exports every locale (~260 KiB minified); the CLI shows English messages only.
 * Resolving `locales/index.js` to English alone halves what zod adds.
 */
const englishOnlyZod = {
  name: "english-only-zod",
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      args.importer.includes("/zod/") ? { path: "zod-locales", namespace: "zod-en" } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: "zod-en" }, () => ({
      contents: 'export { default as en } from "zod/v4/locales/en.js";',
      resolveDir: here.pathname,
    }));
  },
};

// Pass 1: src/validation.ts (zod schemas + croner, ~3/4 of the code) as a self-contained module.
const validation = await build({
  ...common,
  entryPoints: [new URL("src/validation.ts", here).pathname],
  write: false,
  plugins: [englishOnlyZod],
});
const code = validation.outputFiles[0].contents;
// The names it exports, re-exported by the loader below.
const names = Object.keys(await import(`data:text/javascript;base64,${Buffer.from(code).toString("base64")}`));
// Every command reads and scans the whole bundle at startup (measured: ~14 ms for the module as plain
// base64). Gzipped it is a third of the size; inflating costs ~1 ms, only in commands that validate.
const packed = gzipSync(code, { level: 9 }).toString("base64");
const loader = [
  'import { gunzipSync } from "node:zlib";',
  `const m = await import("data:text/javascript;base64," + gunzipSync(Buffer.from("${packed}", "base64")).toString("base64"));`,
  `export const { ${names.join(", ")} } = m;`,
].join("\n");
const dataUrl = `data:text/javascript;base64,${Buffer.from(loader).toString("base64")}`;

/**
 * Pass 2: the CLI, with `import("./validation")` pointing at that module as a data: URL. Node only
 * compiles it when a command validates input; every other command (and --help) skips parsing it,
 * which is most of the startup time a bundle adds. The file stays one file.
 */
const lazyValidation = {
  name: "lazy-validation",
  setup(b) {
    b.onResolve({ filter: /^\.\/validation$/ }, () => ({ path: dataUrl, external: true }));
  },
};

const result = await build({
  ...common,
  entryPoints: [new URL("src/bin.ts", here).pathname],
  outfile,
  metafile: true,
  define: { CLI_VERSION: JSON.stringify(pkg.version) },
  // picocolors is CommonJS and calls require("tty"): give the ESM bundle a require.
  banner: {
    js: '#!/usr/bin/env node\nimport{createRequire as __cr}from"node:module";const require=__cr(import.meta.url);',
  },
  plugins: [lazyValidation],
});
await chmod(outfile, 0o755);
const bytes = result.metafile.outputs[Object.keys(result.metafile.outputs)[0]].bytes;
console.log(`built ${outfile} (${(bytes / 1024).toFixed(0)} KiB, of which ${(dataUrl.length / 1024).toFixed(0)} KiB is the lazy validation module)`);
