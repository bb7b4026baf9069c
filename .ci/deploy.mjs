#!/usr/bin/env node
// `npm run deploy`: everything after `wrangler login`, idempotent (run it again after each change).
// 1. checks the login; 2. creates the queues of wrangler.toml that are missing (wrangler does not provision
// queues); 3. the D1 database and R2 bucket are provisioned by `wrangler deploy` itself (bindings without
// ids), so: when the database exists, migrations first, then the deploy (new code finds its tables);
// on the first deploy, the deploy creates it and the migrations follow at once; 4. says how to set
// API_TOKEN when it is not set; 5. prints the URL and the `async-agent init` line.
// `wrangler` is the project's (npm run puts node_modules/.bin first on PATH); tests put a stand-in there.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

process.chdir(resolve(dirname(fileURLToPath(import.meta.url)), ".."));
const DB = "DB";
const toml = readFileSync("wrangler.toml", "utf8");
const databaseName = /\[\[d1_databases\]\][^[]*?database_name\s*=\s*"([^"]+)"/s.exec(toml)?.[1];
const queues = [...new Set([...toml.matchAll(/^\s*(?:queue|dead_letter_queue)\s*=\s*"([^"]+)"/gm)].map((m) => m[1]))];

const step = (text) => console.log(`\n→ ${text}`);
function fail(text) {
  console.error(`\n✗ ${text}`);
  process.exit(1);
}

/** Runs wrangler; `show` streams its output to the terminal, otherwise it is captured. */
function wrangler(args, { show = false, allowFail = false } = {}) {
  const r = spawnSync("wrangler", args, {
    encoding: "utf8",
    stdio: show ? "inherit" : "pipe",
    shell: process.platform === "win32",
    maxBuffer: 64 << 20,
  });
  if (r.error) fail(`cannot run wrangler: ${r.error.message} (run this through \`npm run deploy\`)`);
  if (r.status !== 0 && !allowFail) {
    if (!show) console.error(`${r.stdout ?? ""}${r.stderr ?? ""}`);
    fail(`wrangler ${args.join(" ")} failed (exit ${r.status})`);
  }
  return { ok: r.status === 0, out: `${r.stdout ?? ""}${r.stderr ?? ""}` };
}

function json(text) {
  const start = text.search(/[[{]/);
  try {
    return start < 0 ? null : JSON.parse(text.slice(start));
  } catch {
    return null;
  }
}

// 1. The login.
step("Cloudflare login");
const who = json(wrangler(["whoami", "--json"], { allowFail: true }).out);
if (!who?.loggedIn) fail("not logged in to Cloudflare: run `npx wrangler login` (or set CLOUDFLARE_API_TOKEN), then `npm run deploy` again");
console.log(`logged in${who.email ? ` as ${who.email}` : ""}`);

// 2. The queues.
step(`queues: ${queues.join(", ")}`);
// Asked one by one (`info`), not found in a list: `queues list` and `d1 list` are paged on large accounts.
for (const q of queues) {
  if (wrangler(["queues", "info", q], { allowFail: true }).ok) console.log(`${q}: exists`);
  else {
    wrangler(["queues", "create", q]);
    console.log(`${q}: created`);
  }
}

// 3. Database, migrations, deploy.
const firstDeploy = !wrangler(["d1", "info", databaseName, "--json"], { allowFail: true }).ok;
const migrate = () => {
  step(`D1 migrations (${databaseName})`);
  wrangler(["d1", "migrations", "apply", DB, "--remote"], { show: true });
};
if (!firstDeploy) migrate();
step(firstDeploy ? `deploy (creates the D1 database "${databaseName}" and the R2 bucket on this first deploy)` : "deploy");
const deployed = spawnSync("wrangler", ["deploy"], { encoding: "utf8", stdio: ["inherit", "pipe", "inherit"], shell: process.platform === "win32" });
process.stdout.write(deployed.stdout ?? "");
if (deployed.status !== 0) fail(`wrangler deploy failed (exit ${deployed.status})`);
if (firstDeploy) migrate();
const url = /https:\/\/[\w.-]+\.workers\.dev/.exec(deployed.stdout ?? "")?.[0];

// 4. The API token.
step("secrets");
const secrets = (json(wrangler(["secret", "list"], { allowFail: true }).out) ?? []).map((s) => s.name);
const missingToken = !secrets.includes("API_TOKEN");
if (missingToken) {
  console.log("API_TOKEN is not set: every /api call answers 503 until it is. Set it (keep the value, the CLI needs it):");
  console.log("  openssl rand -hex 32                # make one");
  console.log("  npx wrangler secret put API_TOKEN    # paste it");
} else console.log("API_TOKEN is set");
if (!secrets.some((s) => /^(OPENAI_API_KEY|OPENROUTER_API_KEY|OLLAMA_API_KEY|CF_ACCESS_CLIENT_SECRET)$/.test(s))) {
  console.log("No LLM key is set as a secret: `npx wrangler secret put OPENAI_API_KEY` (or your provider's, see the README's Configuration)");
}

// 5. Where it runs.
console.log(`\n✓ deployed${url ? ` to ${url}` : ""}`);
console.log(`  npx async-agent init --url ${url ?? "https://async-agent.<your-subdomain>.workers.dev"} --token <API_TOKEN>`);
if (url) console.log(`  curl ${url}/health/ready`);
