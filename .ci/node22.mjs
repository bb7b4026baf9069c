#!/usr/bin/env node
// Runs a command under Node >= 22.12, whatever `node` the user has (>= 18): as is when this Node is new
// enough, else under a Node 22 fetched once from the npm registry (the official binary, packaged as
// `node-<platform>-<arch>`) into a cache outside the repository. Every npm script goes through it, so
// `npm run dev` and `npm test` work as typed on the Node 20 that many machines still ship.
//
//   node .ci/node22.mjs <command> [args...]   run the command with that Node first on PATH
//   node .ci/node22.mjs --ensure              fetch it now if this Node is too old (npm install's postinstall)
//   node .ci/node22.mjs --bin                 print the directory of a suitable `node` (for .ci/node.sh)
//
// Plain JavaScript that Node 18 parses: it runs before we know which Node we have.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, dirname, join } from "node:path";

const NEED = [22, 12];
const MAJOR = 22;

/** Is `version` ("v22.12.0" or "22.12.0") at least NEED? */
const newEnough = (version) => {
  const [a, b] = version.replace(/^v/, "").split(".").map(Number);
  return a > NEED[0] || (a === NEED[0] && b >= NEED[1]);
};

function cacheRoot() {
  if (process.env.ASYNC_AGENT_CACHE_DIR) return process.env.ASYNC_AGENT_CACHE_DIR;
  if (process.platform === "win32") return join(process.env.LOCALAPPDATA ?? join(homedir(), "AppData", "Local"), "async-agent");
  if (process.platform === "darwin") return join(homedir(), "Library", "Caches", "async-agent");
  return join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "async-agent");
}

/** The npm package that carries the official Node binary for this OS and CPU. */
function nodePackage() {
  const os = { linux: "linux", darwin: "darwin", win32: "win" }[process.platform];
  const cpu = { x64: "x64", arm64: "arm64" }[process.arch];
  if (!os || !cpu) {
    throw new Error(`no Node ${MAJOR} package for ${process.platform}/${process.arch} on the npm registry: install Node >= ${NEED.join(".")} yourself`);
  }
  return `node-${os}-${cpu}`;
}

/** The directory holding the cached Node binary, or null when it is not there yet. */
function cachedBin(prefix, pkg) {
  const manifest = join(prefix, "node_modules", pkg, "package.json");
  if (!existsSync(manifest)) return null;
  const { bin } = JSON.parse(readFileSync(manifest, "utf8"));
  const file = join(prefix, "node_modules", pkg, typeof bin === "string" ? bin : bin.node);
  return existsSync(file) ? dirname(file) : null;
}

/** npm itself: the one running this script when started by `npm run`, else the one on PATH. */
function npmCommand(args) {
  const cli = process.env.npm_execpath;
  if (cli && /\.c?js$/.test(cli)) return [process.execPath, [cli, ...args]];
  return [process.platform === "win32" ? "npm.cmd" : "npm", args];
}

/** Fetches Node MAJOR into the cache (once; concurrent callers each install to a temp dir, one rename wins). */
function fetchNode(say) {
  const pkg = nodePackage();
  const prefix = join(cacheRoot(), `node${MAJOR}-${process.platform}-${process.arch}`);
  const found = cachedBin(prefix, pkg);
  if (found) return found;
  say(`this Node is ${process.version}; async-agent needs >= ${NEED.join(".")}: fetching Node ${MAJOR} once from the npm registry (${pkg}) into ${prefix}`);
  const temp = `${prefix}.tmp-${process.pid}`;
  mkdirSync(temp, { recursive: true });
  const [cmd, args] = npmCommand([
    "install",
    "--prefix",
    temp,
    "--no-save",
    "--no-package-lock",
    "--no-audit",
    "--no-fund",
    "--loglevel=error",
    `${pkg}@${MAJOR}`,
  ]);
  const r = spawnSync(cmd, args, { stdio: ["ignore", "ignore", "inherit"], shell: process.platform === "win32" });
  if (r.status !== 0) {
    rmSync(temp, { recursive: true, force: true });
    throw new Error(`could not fetch ${pkg}@${MAJOR} from the npm registry (npm exited ${r.status}); install Node >= ${NEED.join(".")} yourself`);
  }
  try {
    renameSync(temp, prefix);
  } catch {
    rmSync(temp, { recursive: true, force: true }); // another process got there first
  }
  const bin = cachedBin(prefix, pkg);
  if (!bin) throw new Error(`${pkg} installed into ${prefix} but has no node binary`);
  // Once, after the fetch: the binary must really be new enough, or every script would fail obscurely.
  const v = spawnSync(join(bin, process.platform === "win32" ? "node.exe" : "node"), ["--version"], { encoding: "utf8" });
  if (v.status !== 0 || !newEnough(v.stdout.trim()))
    throw new Error(`${pkg} in ${prefix} does not run as Node >= ${NEED.join(".")}: remove that folder and try again`);
  return bin;
}

const say = (line) => console.error(`async-agent: ${line}`);
const [first, ...rest] = process.argv.slice(2);

try {
  if (first === "--ensure") {
    if (!newEnough(process.version)) say(`Node ${MAJOR} ready in ${fetchNode(say)} (npm scripts use it; your own node stays ${process.version})`);
    process.exit(0);
  }
  if (first === "--bin") {
    console.log(newEnough(process.version) ? dirname(process.execPath) : fetchNode(say));
    process.exit(0);
  }
  if (!first) {
    say("usage: node .ci/node22.mjs <command> [args...] | --ensure | --bin");
    process.exit(2);
  }

  const env = { ...process.env };
  // Windows spells it "Path": prepend to the key the environment has, or the new PATH would drop the rest.
  const pathKey = Object.keys(env).find((k) => k.toUpperCase() === "PATH") ?? "PATH";
  if (!newEnough(process.version)) {
    const bin = fetchNode(say);
    say(`running under Node ${MAJOR} from ${bin} (this Node is ${process.version})`);
    env[pathKey] = `${bin}${delimiter}${env[pathKey] ?? ""}`;
  }
  // Node's on-disk compile cache (22.1+): wrangler's CLI alone is megabytes of JavaScript, and every `npm run dev`,
  // test run and deploy loads it again; cached, it loads ~0.3 s faster. Kept beside the fetched Node.
  env.NODE_COMPILE_CACHE ??= join(cacheRoot(), "compile-cache");
  const child = spawn(first, rest, { stdio: "inherit", env, shell: process.platform === "win32" });
  // Ctrl-C already reaches the child through the terminal's process group: wait for it to exit.
  process.on("SIGINT", () => {});
  for (const sig of ["SIGTERM", "SIGHUP"]) process.on(sig, () => child.kill(sig));
  child.on("error", (e) => {
    say(`cannot run ${first}: ${e.message}`);
    process.exit(127);
  });
  child.on("exit", (code, signal) => process.exit(code ?? (signal === "SIGINT" ? 130 : 1)));
} catch (e) {
  say(e instanceof Error ? e.message : String(e));
  process.exit(1);
}
