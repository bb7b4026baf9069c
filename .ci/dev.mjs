#!/usr/bin/env node
// `npm run dev`: the whole system on this machine, schedules firing.
// - .dev.vars from the example when missing; the local D1 migrated; `wrangler dev` on 127.0.0.1:$PORT.
// - Miniflare never fires cron triggers by itself, so this runner does: at each minute boundary it calls
//   the Worker's local scheduled route for every cron of wrangler.toml that matches, with that minute as
//   `scheduledTime`, exactly as Cloudflare would. `--no-cron` turns it off.
// - .dev.vars (or --env-file) and wrangler.toml are watched: a saved change restarts wrangler.
// - wrangler's banners and tables are hidden (`--verbose` shows everything); warnings and errors show.
// - wrangler's [build] builds the dashboard first (.ci/dashboard.mjs: skipped when its sources did not change)
//   and rebuilds it when a file under dashboard/src changes.
// - Each start ends with one verdict block: URL, dashboard, the LLM check with paste-ready fixes, tool states.
// Runs under Node >= 22.12 (package.json starts it through .ci/node22.mjs).
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, watch, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { basename, dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { Cron } from "croner";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
process.chdir(root);

// ── arguments ──────────────────────────────────────────────────────────────────────────────────────────
const argv = process.argv.slice(2);
const flag = (name) => {
  const i = argv.indexOf(name);
  return i >= 0 && argv.splice(i, 1).length > 0;
};
const option = (name) => {
  const i = argv.findIndex((a) => a === name || a.startsWith(`${name}=`));
  if (i < 0) return undefined;
  const [arg] = argv.splice(i, 1);
  return arg.includes("=") ? arg.slice(name.length + 1) : argv.splice(i, 1)[0];
};
if (flag("--help") || flag("-h")) {
  console.log(`npm run dev [-- options]   the API, crons, queues and agents on this machine

  PORT=<n>            port on 127.0.0.1 (default 8787)
  --no-cron           do not fire the cron trigger each minute (tick by hand with the URL the verdict shows)
  --verbose           show everything wrangler prints
  --env-file <file>   settings file instead of .dev.vars (watched the same way)
  anything else       passed to \`wrangler dev\` (e.g. --persist-to <dir>)`);
  process.exit(0);
}
const verbose = flag("--verbose");
const driveCron = !flag("--no-cron");
const port = Number(option("--port") ?? process.env.PORT ?? 8787);
const envFile = option("--env-file") ?? ".dev.vars";
const persist = option("--persist-to");
const passThrough = argv;
if (!Number.isInteger(port) || port < 1 || port > 65535) fail(`PORT must be a port number (1-65535), got "${process.env.PORT}"`);

const base = `http://127.0.0.1:${port}`;
// wrangler's bin script only checks the Node version (done: .ci/node22.mjs) and starts a second Node for
// wrangler-dist/cli.js; starting that directly saves a process start on every (re)start.
const wranglerCli = ["--no-warnings", "node_modules/wrangler/wrangler-dist/cli.js"];
const persistArgs = persist ? ["--persist-to", persist] : [];

function fail(message) {
  console.error(`✗ ${message}`);
  process.exit(1);
}

// ── settings ───────────────────────────────────────────────────────────────────────────────────────────
if (!existsSync(envFile)) {
  if (envFile !== ".dev.vars") fail(`${envFile} does not exist`);
  copyFileSync(".dev.vars.example", ".dev.vars");
  console.log("created .dev.vars from .dev.vars.example (edit it to choose your LLM provider)");
}

/** KEY=value lines of a .dev.vars / .env file (quotes stripped; comments and blanks skipped). */
function readVars(file) {
  const vars = {};
  for (const line of readFileSync(file, "utf8").split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (m) vars[m[1]] = m[2].replace(/^(['"])(.*)\1$/, "$2");
  }
  return vars;
}

/** The crons of wrangler.toml's [triggers]. */
function configuredCrons() {
  const toml = readFileSync("wrangler.toml", "utf8");
  const m = /^\[triggers\][^[]*?^crons\s*=\s*\[([^\]]*)\]/ms.exec(toml);
  return m ? [...m[1].matchAll(/"([^"]+)"/g)].map((x) => x[1]) : [];
}

// ── the port ───────────────────────────────────────────────────────────────────────────────────────────
const portFree = await new Promise((done) => {
  const s = createServer();
  s.once("error", () => done(false));
  s.listen(port, "127.0.0.1", () => s.close(() => done(true)));
});
if (!portFree) {
  fail(`port ${port} on 127.0.0.1 is already in use (another \`npm run dev\`?). Stop that process, or pick another port: PORT=${port + 1} npm run dev`);
}

// ── the local D1 ───────────────────────────────────────────────────────────────────────────────────────
// `wrangler d1 migrations apply` costs 1.5-2.5 s even with nothing to apply, so it runs only when the
// migrations differ from those last applied to this state directory (a stamp kept beside the state: wiping
// the state wipes the stamp).
const stateDir = persist ?? ".wrangler/state";
const stamp = join(stateDir, "async-agent-migrations");
const migrations = readdirSync("migrations")
  .filter((f) => f.endsWith(".sql"))
  .sort()
  .map(
    (f) =>
      `${f} ${createHash("sha256")
        .update(readFileSync(join("migrations", f)))
        .digest("hex")}`,
  )
  .join("\n");
if (!existsSync(stamp) || readFileSync(stamp, "utf8") !== migrations) {
  const migrate = spawnSync(process.execPath, [...wranglerCli, "d1", "migrations", "apply", "DB", "--local", ...persistArgs], {
    encoding: "utf8",
    env: { ...process.env, CI: "true" },
  });
  if (migrate.status !== 0) {
    console.error(migrate.stdout, migrate.stderr);
    fail("could not migrate the local D1 (output above)");
  }
  const applied = new Set(migrate.stdout.match(/\d{4}_[\w-]+\.sql(?=[^\n]*✅)/g)).size;
  if (applied) console.log(`local D1: ${applied} migration(s) applied`);
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(stamp, migrations);
}

// ── wrangler dev, filtered ─────────────────────────────────────────────────────────────────────────────
const ANSI = /\x1b\[[0-9;]*m/g;
/** Blocks (a header and its indented lines) that say nothing a user of this runner needs. */
const NOISE = [
  /Scheduled Workers are not automatically triggered/, // this runner fires them
  /Unable to fetch the `Request\.cf` object/, // offline: wrangler falls back to a placeholder
];

/** Decides, line by line, what of wrangler's output reaches the terminal. */
function outputFilter() {
  let block = "none"; // "show" | "hide" | "none": inside a warning/error block, its continuation lines follow
  return (raw) => {
    if (verbose) return console.log(raw);
    const line = raw.replace(ANSI, "");
    if (/^\s*\{.*\}\s*$/.test(line)) return workerLog(line);
    const header = /^(▲ \[WARNING\]|✘ \[ERROR\]|\[wrangler:(warn|error)\])/.test(line.trimStart());
    if (header) block = NOISE.some((n) => n.test(line)) ? "hide" : "show";
    else if (block !== "none" && !(line === "" || /^\s/.test(line) || /^Error: /.test(line))) block = "none";
    if (block === "show") console.log(raw);
  };
}

/** The Worker's JSON log lines: the cron tick becomes one short line; errors show; the rest is quiet. */
function workerLog(line) {
  let event;
  try {
    event = JSON.parse(line);
  } catch {
    return;
  }
  if (event.msg === "scheduler.tick") {
    const time = new Date(event.now).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hour12: false });
    const parts = [`${event.enqueued} run${event.enqueued === 1 ? "" : "s"} dispatched`];
    if (event.overlapSkipped) parts.push(`${event.overlapSkipped} skipped (overlap)`);
    if (event.reaped?.requeued) parts.push(`${event.reaped.requeued} stale re-sent`);
    if (event.reaped?.failed) parts.push(`${event.reaped.failed} stale failed`);
    if (event.error) parts.push(`error: ${event.error}`);
    console.log(`${time} tick → ${parts.join(", ")}`);
  } else if (event.error || event.level === "error") {
    console.log(`worker: ${line}`);
  }
}

let wrangler = null;
let restarting = false;
let stopping = false;
/** True once the current wrangler answers /health: the cron driver ticks only then. */
let ready = false;
const windows = process.platform === "win32";

function startWrangler() {
  // Unminified here: a few tenths of a second sooner to start, and readable stack traces (deploys stay minified).
  const args = ["dev", "--ip", "127.0.0.1", "--port", String(port), "--minify=false", ...persistArgs, ...passThrough];
  if (envFile !== ".dev.vars") args.push("--env-file", envFile);
  // The one-click decision links start with PUBLIC_URL: a local default (unset, or the example's port) follows --port.
  const publicUrl = readVars(envFile).PUBLIC_URL;
  if (!publicUrl || publicUrl === "http://localhost:8787") args.push("--var", `PUBLIC_URL:http://localhost:${port}`);
  // Its own process group, so a restart or Ctrl-C stops wrangler and its workerd together (Windows has no
  // process groups: taskkill /T stops the tree there).
  // No fetch of Cloudflare's `Request.cf` sample at each start (up to 3 s when the network is slow or absent): the
  // Worker does not read request.cf, and wrangler's placeholder serves. No banner either (hidden below anyway): it
  // waits up to 100 ms for wrangler's update check on every start.
  const env = { CLOUDFLARE_CF_FETCH_ENABLED: "false", ...(verbose ? {} : { WRANGLER_HIDE_BANNER: "true" }), ...process.env };
  const child = spawn(process.execPath, [...wranglerCli, ...args], { stdio: ["ignore", "pipe", "pipe"], detached: !windows, env });
  for (const stream of [child.stdout, child.stderr]) createInterface({ input: stream }).on("line", outputFilter());
  child.on("exit", (code) => {
    if (wrangler === child) wrangler = null;
    if (!restarting && !stopping) {
      console.error(`✗ wrangler dev exited (${code ?? "signal"}); run with --verbose to see all of its output`);
      process.exit(code || 1);
    }
  });
  wrangler = child;
  return child;
}

/** Stops wrangler and everything it started; resolves once it has exited. */
async function stopWrangler() {
  ready = false;
  const child = wrangler;
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  const kill = (signal) => {
    try {
      if (windows) spawnSync("taskkill", ["/T", "/F", "/PID", String(child.pid)], { stdio: "ignore" });
      else process.kill(-child.pid, signal);
      return true;
    } catch {
      return false;
    }
  };
  if (!kill("SIGTERM")) return;
  const timer = setTimeout(() => kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}

for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(sig, async () => {
    stopping = true;
    await stopWrangler();
    process.exit(sig === "SIGINT" ? 130 : 0);
  });
}

// ── readiness verdict ──────────────────────────────────────────────────────────────────────────────────
async function waitForHealth(child) {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline && child.exitCode === null) {
    try {
      if ((await fetch(`${base}/health`)).ok) return true;
    } catch {}
    // Polled often: until wrangler listens, a refused connection costs next to nothing, so the verdict follows at once.
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

async function getJson(path, token) {
  try {
    const res = await fetch(`${base}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    return await res.json();
  } catch {
    return null;
  }
}

/** Paste-ready .dev.vars snippets, one per way of getting a model. */
function llmFixes(vars) {
  const model = vars.OLLAMA_MODEL || "qwen3:8b";
  return [
    [`Ollama on this machine (first: ollama pull ${model})`, ["LLM_PROVIDER=ollama", "OLLAMA_BASE_URL=http://localhost:11434", `OLLAMA_MODEL=${model}`]],
    [
      "Ollama through a tunnel (e.g. Cloudflare Tunnel; the Access lines only behind Cloudflare Access)",
      [
        "LLM_PROVIDER=ollama",
        "OLLAMA_BASE_URL=https://ollama.example.com",
        `OLLAMA_MODEL=${model}`,
        "CF_ACCESS_CLIENT_ID=<id>.access",
        "CF_ACCESS_CLIENT_SECRET=<secret>",
      ],
    ],
    ["OpenAI", ["LLM_PROVIDER=openai", "OPENAI_API_KEY=sk-...", "OPENAI_MODEL=gpt-4.1-mini"]],
    ["OpenRouter", ["LLM_PROVIDER=openrouter", "OPENROUTER_API_KEY=sk-or-...", "OPENROUTER_MODEL=openai/gpt-4.1-mini"]],
    [
      "any OpenAI-compatible endpoint (vLLM, LM Studio, llama.cpp server, ...)",
      ["LLM_PROVIDER=openai", "OPENAI_BASE_URL=http://localhost:1234/v1", "OPENAI_API_KEY=<key or anything>", "OPENAI_MODEL=<model>"],
    ],
  ];
}

const TOOL_LINES = [
  ["search", "web_search"],
  ["email", "send_email"],
  ["webhooks", "send_webhook"],
];

async function printVerdict() {
  const vars = readVars(envFile);
  const token = vars.API_TOKEN;
  const [ready, tools] = await Promise.all([getJson("/health/ready", token), token ? getJson("/api/v1/tools", token) : null]);
  const ok = (b) => (b ? "✓" : "✗");
  const out = [""];
  out.push(`async-agent ${ready?.version ?? ""} on ${base}`.replace("  ", " "));
  out.push(`  Dashboard  ${base}/ (sign in with API_TOKEN from ${basename(envFile)}); API reference ${base}/docs`);
  out.push(`  CLI        npx async-agent init --url ${base} --token ${token ? `<API_TOKEN from ${basename(envFile)}>` : "<API_TOKEN>"}`);
  out.push(
    driveCron
      ? `  schedules  ✓ fired every minute by this runner (--no-cron to stop; by hand: curl "${base}/cdn-cgi/handler/scheduled?cron=*+*+*+*+*")`
      : `  schedules  ✗ not fired (--no-cron): tick by hand with curl "${base}/cdn-cgi/handler/scheduled?cron=*+*+*+*+*"`,
  );
  if (!token) out.push(`  API        ✗ API_TOKEN is not set in ${envFile}: every /api call answers 503 until it is`);
  const d1 = ready?.checks?.d1;
  if (d1 && !d1.ok) out.push(`  D1         ✗ ${d1.detail ?? "not reachable"}`);
  const llm = ready?.checks?.llm;
  if (!llm) out.push("  LLM        ✗ no answer from /health/ready");
  else {
    out.push(`  LLM        ${ok(llm.ok)} ${llm.provider ?? "?"} ${llm.model ?? ""}${llm.ok ? " (tool calling checked)" : `: ${llm.detail ?? "check failed"}`}`);
    if (!llm.ok) {
      out.push(`             Fix: paste one of these into ${envFile} (saving it restarts the server):`);
      for (const [title, lines] of llmFixes(vars)) {
        out.push(`               # ${title}`);
        for (const l of lines) out.push(`               ${l}`);
      }
    }
  }
  for (const [label, name] of TOOL_LINES) {
    const t = tools?.items?.find((x) => x.name === name);
    if (!t) continue;
    const state = t.state ?? (t.configured ? "ready" : "not configured");
    const mark = state === "ready" ? "✓" : state === "limited" ? "~" : "–";
    out.push(`  ${label.padEnd(10)} ${mark} ${state.replace("_", " ")}${t.reason ? `: ${t.reason}` : ""}`);
  }
  out.push(`  Settings: ${envFile} (saved changes restart the server). Ctrl-C stops.`, "");
  (llm?.ok && (!d1 || d1.ok) ? console.log : console.error)(out.join("\n"));
}

async function start() {
  const child = startWrangler();
  if (!(await waitForHealth(child))) {
    if (child.exitCode !== null) return;
    stopping = true;
    await stopWrangler(); // not left holding the port for the next `npm run dev`
    fail(`wrangler dev did not answer on ${base} within 120 s`);
  }
  ready = true;
  await printVerdict();
}

// ── restart on a settings change ───────────────────────────────────────────────────────────────────────
const watched = [envFile, "wrangler.toml"];
const snapshot = () => watched.map((f) => (existsSync(f) ? readFileSync(f, "utf8") : "")).join("\0");
let last = snapshot();
let debounce;
for (const dir of new Set(watched.map((f) => dirname(resolve(f))))) {
  // The directory, not the file: editors save by writing a new file and renaming it over the old one.
  watch(dir, (_event, name) => {
    const file = name && watched.find((f) => basename(f) === String(name));
    if (!file) return;
    clearTimeout(debounce);
    debounce = setTimeout(async () => {
      const now = snapshot();
      if (now === last || restarting || stopping) return;
      last = now;
      restarting = true;
      console.log(`\n${file} changed: restarting wrangler dev…`);
      await stopWrangler();
      restarting = false;
      await start();
    }, 300);
  });
}

// ── the cron trigger, every minute ─────────────────────────────────────────────────────────────────────
function scheduleTicks() {
  const crons = configuredCrons().map((expr) => ({ expr, cron: new Cron(expr, { timezone: "UTC", paused: true }) }));
  if (!crons.length) return;
  const next = () => setTimeout(tick, 60_000 - (Date.now() % 60_000) + 20);
  async function tick() {
    const minute = Math.floor(Date.now() / 60_000) * 60_000;
    next();
    if (!ready || restarting || stopping) return;
    for (const { expr, cron } of crons) {
      if (!cron.match(new Date(minute))) continue;
      const url = `${base}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent(expr)}&time=${minute}`;
      try {
        const res = await fetch(url);
        if (!res.ok) console.error(`✗ cron tick ${expr}: ${res.status} ${await res.text()}`);
      } catch (e) {
        console.error(`✗ cron tick ${expr}: ${e instanceof Error ? e.message : e}`);
      }
    }
  }
  next();
}

await start();
if (driveCron) scheduleTicks();
