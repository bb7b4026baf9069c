#!/usr/bin/env node
/**
 * The dependency rule (STYLE.md, README "Architecture"): inside worker/, imports point down the layers
 * only, and no files import each other in a cycle. The CLI may use the Worker's domain/ and the API's
 * schemas, nothing else. Exits 1 naming every import that breaks a rule; prints one line when none does.
 *
 * Imports are read as text (`from "…"`, `import("…")`, `import "…"`): every import in this codebase is
 * written that way, and reading text needs no TypeScript compiler API (TypeScript 7 has none).
 * Type-only imports count: a type pulled from a higher layer ties the two folders as much as a value.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/**
 * Top to bottom. A module may import modules of its own folder and of any layer below its own; not of
 * its own layer's other folders, nor of a layer above. `index.ts` is worker/index.ts (wiring only).
 */
const LAYERS = [["index.ts"], ["api"], ["scheduler"], ["queue"], ["agent"], ["notify", "llm"], ["tools"], ["net"], ["db"], ["domain", "lib"]];
const LAYER_LINE = LAYERS.map((l) => (l.length > 1 ? `{${l.join(", ")}}` : l[0])).join(" → ");
/** What the CLI may import from the Worker: the vocabulary and domain schemas, and the API's request/response shapes. */
const CLI_MAY_IMPORT = [/^worker\/domain\//, /^worker\/api\/schemas\.ts$/];

const files = (dir) =>
  readdirSync(join(ROOT, dir)).flatMap((name) => {
    const rel = join(dir, name);
    if (statSync(join(ROOT, rel)).isDirectory()) return name === "node_modules" || name === "dist" ? [] : files(rel);
    return /\.(ts|tsx|mjs)$/.test(name) && !name.endsWith(".d.ts") ? [rel] : [];
  });

/** Strips comments so that an example in a comment is not taken for an import. */
const code = (text) => text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");

function importsOf(file) {
  const text = code(readFileSync(join(ROOT, file), "utf8"));
  const specs = [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["']([^"']+)["']/g)].map((m) => m[1]);
  return specs
    .filter((s) => s.startsWith("."))
    .map((s) => resolveImport(file, s))
    .filter(Boolean);
}

function resolveImport(from, spec) {
  const base = join(dirname(from), spec);
  for (const candidate of [base, `${base}.ts`, `${base}.tsx`, join(base, "index.ts")])
    if (existsSync(join(ROOT, candidate)) && statSync(join(ROOT, candidate)).isFile()) return candidate;
  return null;
}

/** [layer index, folder] of a worker/ file; folder is "index.ts" for the entry file. */
function placeOf(file) {
  const parts = relative("worker", file).split("/");
  const folder = parts.length === 1 ? parts[0] : parts[0];
  const layer = LAYERS.findIndex((l) => l.includes(folder));
  return { layer, folder };
}

const problems = [];
const graph = new Map();
const worker = files("worker");
for (const file of worker) {
  const deps = importsOf(file);
  graph.set(file, deps);
  const me = placeOf(file);
  if (me.layer < 0) {
    problems.push(`${file}: not in any layer of .ci/deps.mjs (put it in a folder of the layer table)`);
    continue;
  }
  for (const dep of deps) {
    if (dep === "package.json") continue; // lib/version.ts reads the version
    if (!dep.startsWith("worker/")) {
      problems.push(`${file} → ${dep}: the Worker imports nothing outside worker/`);
      continue;
    }
    const it = placeOf(dep);
    if (it.folder === me.folder) continue;
    if (it.layer <= me.layer) {
      const why = it.layer === me.layer ? "a sibling of its own layer" : "a layer above it";
      problems.push(`${file} → ${dep}: ${me.folder}/ may not import ${it.folder}/ (${why}; layers top to bottom: ${LAYER_LINE})`);
    }
  }
}
for (const file of files("cli/src")) {
  const deps = importsOf(file);
  graph.set(file, deps);
  for (const dep of deps)
    if (dep.startsWith("worker/") && !CLI_MAY_IMPORT.some((re) => re.test(dep)))
      problems.push(`${file} → ${dep}: the CLI may import only worker/domain/ and worker/api/schemas.ts`);
}
// The dashboard runs in the browser and talks to the API like the CLI: the same two things of the Worker, no more.
for (const file of files("dashboard/src")) {
  const deps = importsOf(file);
  graph.set(file, deps);
  for (const dep of deps)
    if (dep.startsWith("worker/") && !CLI_MAY_IMPORT.some((re) => re.test(dep)))
      problems.push(`${file} → ${dep}: the dashboard may import only worker/domain/ and worker/api/schemas.ts`);
}

// Import cycles between files (Tarjan's strongly connected components).
let index = 0;
const stack = [];
const state = new Map();
function visit(v) {
  const s = { index, low: index, on: true };
  index++;
  state.set(v, s);
  stack.push(v);
  for (const w of graph.get(v) ?? []) {
    if (!graph.has(w)) continue;
    const t = state.get(w);
    if (!t) {
      visit(w);
      s.low = Math.min(s.low, state.get(w).low);
    } else if (t.on) s.low = Math.min(s.low, t.index);
  }
  if (s.low === s.index) {
    const scc = [];
    let w;
    do {
      w = stack.pop();
      state.get(w).on = false;
      scc.push(w);
    } while (w !== v);
    if (scc.length > 1) problems.push(`import cycle among: ${scc.sort().join(", ")}`);
  }
}
for (const v of graph.keys()) if (!state.has(v)) visit(v);

if (problems.length) {
  for (const p of problems) console.error(p);
  console.error(`deps: ${problems.length} rule violation(s)`);
  process.exit(1);
}
console.log(`deps: ${graph.size} files, every import points down the layers, no cycles`);
