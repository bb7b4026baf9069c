/**
 * The deploy script's steps against a stand-in `wrangler` first on PATH (deploying for real needs a
 * Cloudflare login and the network, which tests do not have): the order of the calls, idempotence on a
 * second run, and the messages for a missing login and a missing API_TOKEN. The stand-in keeps an account's
 * state in a JSON file, as Cloudflare would between runs.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = new URL("../..", import.meta.url).pathname;

const STANDIN = `#!/usr/bin/env node
const fs = require("node:fs");
const file = process.env.STANDIN_STATE;
const s = JSON.parse(fs.readFileSync(file, "utf8"));
const args = process.argv.slice(2);
s.calls.push(args.join(" "));
const save = () => fs.writeFileSync(file, JSON.stringify(s));
const cmd = args.slice(0, 2).join(" ");
let code = 0;
if (args[0] === "whoami") {
  if (s.loggedIn) console.log(JSON.stringify({ loggedIn: true, email: "dev@example.com" }));
  else { console.error(JSON.stringify({ loggedIn: false })); code = 1; }
} else if (cmd === "queues info") {
  if (s.queues.includes(args[2])) console.log("Queue Name: " + args[2]); else { console.error("Queue \\"" + args[2] + "\\" does not exist."); code = 1; }
} else if (cmd === "queues create") {
  s.queues.push(args[2]); console.log("Created queue " + args[2]);
} else if (cmd === "d1 info") {
  if (s.databases.includes(args[2])) console.log(JSON.stringify({ uuid: "u-" + args[2], name: args[2] })); else { console.error("Couldn't find DB with name '" + args[2] + "'"); code = 1; }
} else if (cmd === "d1 migrations") {
  if (!s.databases.includes("async-agent")) { console.error("Couldn't find a D1 DB named 'async-agent'"); code = 1; }
  else { s.migrated = true; console.log("Migrations applied"); }
} else if (args[0] === "deploy") {
  if (!s.databases.includes("async-agent")) { s.databases.push("async-agent"); console.log("Provisioning DB (D1 Database)..."); }
  s.deployed = true;
  console.log("Uploaded async-agent\\nDeployed async-agent triggers\\n  https://async-agent.tester.workers.dev\\n  schedule: * * * * *");
} else if (cmd === "secret list") {
  if (!s.deployed) { console.error("Worker not found"); code = 1; } else console.log(JSON.stringify(s.secrets.map((name) => ({ name, type: "secret_text" }))));
} else { console.error("stand-in: unexpected " + args.join(" ")); code = 2; }
save();
process.exit(code);
`;

describe("npm run deploy's script against a stand-in wrangler", () => {
  const dir = mkdtempSync(join(tmpdir(), "async-agent-deploy-"));
  const state = join(dir, "state.json");
  writeFileSync(join(dir, "wrangler"), STANDIN);
  chmodSync(join(dir, "wrangler"), 0o755);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const account = (s: object) => writeFileSync(state, JSON.stringify({ calls: [], queues: [], databases: [], secrets: [], loggedIn: true, ...s }));
  const read = () => JSON.parse(readFileSync(state, "utf8")) as { calls: string[]; queues: string[]; databases: string[]; migrated?: boolean };
  const deploy = () => {
    const r = spawnSync(process.execPath, [".ci/deploy.mjs"], {
      cwd: ROOT,
      encoding: "utf8",
      env: { ...process.env, PATH: `${dir}${delimiter}${process.env.PATH}`, STANDIN_STATE: state },
    });
    return { status: r.status, out: r.stdout + r.stderr };
  };

  it("refuses to start without a login, and says how to log in", () => {
    account({ loggedIn: false });
    const r = deploy();
    expect(r.status).toBe(1);
    expect(r.out).toContain("npx wrangler login");
    expect(read().calls).toEqual(["whoami --json"]);
  });

  it("first deploy: creates the queues, deploys (which provisions D1 and R2), then migrates; says how to set API_TOKEN", () => {
    account({ queues: ["someone-elses-queue"] });
    const r = deploy();
    expect(r.status, r.out).toBe(0);
    const s = read();
    expect(s.calls).toEqual([
      "whoami --json",
      "queues info async-agent-runs",
      "queues create async-agent-runs",
      "queues info async-agent-runs-dlq",
      "queues create async-agent-runs-dlq",
      "d1 info async-agent --json",
      "deploy",
      "d1 migrations apply DB --remote",
      "secret list",
    ]);
    expect(s.migrated).toBe(true);
    expect(r.out).toContain("npx wrangler secret put API_TOKEN");
    expect(r.out).toContain("npx async-agent init --url https://async-agent.tester.workers.dev --token <API_TOKEN>");
  });

  it("again, once everything exists: creates nothing, migrates before deploying, no API_TOKEN advice", () => {
    const s0 = read();
    writeFileSync(state, JSON.stringify({ ...s0, calls: [], secrets: ["API_TOKEN", "OPENAI_API_KEY"] }));
    const r = deploy();
    expect(r.status, r.out).toBe(0);
    expect(read().calls).toEqual([
      "whoami --json",
      "queues info async-agent-runs",
      "queues info async-agent-runs-dlq",
      "d1 info async-agent --json",
      "d1 migrations apply DB --remote",
      "deploy",
      "secret list",
    ]);
    expect(r.out).toContain("API_TOKEN is set");
    expect(r.out).not.toContain("secret put");
    expect(r.out).toContain("✓ deployed to https://async-agent.tester.workers.dev");
  });
});
