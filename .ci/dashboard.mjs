#!/usr/bin/env node
// Builds the dashboard (dashboard/ → dashboard/dist, static assets the Worker serves) with Vite. wrangler.toml's
// [build] runs it before every `wrangler dev` and `wrangler deploy`, and the test config runs it too, so a clean
// clone needs no extra step. A build costs a few seconds, so, like the dev runner's migrations stamp, it runs
// only when the inputs differ from those of the last build: the sources, the shared vocabulary they import and
// the lockfile (library versions). `--force` builds anyway. Prints one line, or nothing when up to date.
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "dashboard/dist");
const stamp = join(root, "dashboard/.build-stamp");
const INPUTS = ["dashboard", "worker/domain", "package-lock.json"];
const SKIP = new Set(["dashboard/dist", "dashboard/.build-stamp"]);

function filesOf(path) {
  const rel = relative(root, path);
  if (SKIP.has(rel) || /(^|\/)(node_modules|\.)/.test(rel.replace(/^\.\.?\//, "")) || /\.dist-/.test(rel)) return [];
  if (!existsSync(path)) return [];
  if (!statSync(path).isDirectory()) return [rel];
  return readdirSync(path)
    .sort()
    .flatMap((name) => filesOf(join(path, name)));
}

const hash = createHash("sha256");
for (const file of INPUTS.flatMap((p) => filesOf(join(root, p))))
  hash
    .update(`${file}\0`)
    .update(readFileSync(join(root, file)))
    .update("\0");
const digest = hash.digest("hex");
const force = process.argv.includes("--force");
if (!force && existsSync(join(out, "index.html")) && existsSync(stamp) && readFileSync(stamp, "utf8") === digest) process.exit(0);

const started = Date.now();
// Always the production build: under vitest (NODE_ENV=test) Vite would emit Preact's development JSX, with
// this machine's absolute source paths in it, and the stamp would let a later `wrangler deploy` upload that.
process.env.NODE_ENV = "production";
const { build } = await import("vite");
// Built beside the old output and swapped in, so a wrangler dev serving the old one never sees half a build.
const tmp = join(root, `dashboard/.dist-${process.pid}`);
try {
  await build({ configFile: join(root, "dashboard/vite.config.ts"), logLevel: "warn", build: { outDir: tmp, emptyOutDir: true } });
  rmSync(out, { recursive: true, force: true });
  renameSync(tmp, out);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
writeFileSync(stamp, digest);

const gzipKb = readdirSync(join(out, "assets"))
  .map((f) => gzipSync(readFileSync(join(out, "assets", f))).length)
  .reduce((a, b) => a + b, gzipSync(readFileSync(join(out, "index.html"))).length);
console.log(`dashboard: built in ${((Date.now() - started) / 1000).toFixed(1)} s (${(gzipKb / 1024).toFixed(1)} KiB gzip)`);
