#!/usr/bin/env node
// `npm run dev`: .dev.vars from the example when missing, the local D1 migrated, then `wrangler dev` on
// 127.0.0.1:8787. Once the Worker answers, its readiness (D1, the LLM provider's tool-calling check) is printed,
// loudly when something is wrong, so the system never starts silently broken.
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync } from "node:fs";

const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  console.error(`async-agent needs Node >= 22.12 (this is ${process.version}). Run: . .ci/node.sh`);
  process.exit(1);
}
const port = process.env.PORT ?? "8787";
const extra = process.argv.slice(2);

if (!existsSync(".dev.vars")) {
  copyFileSync(".dev.vars.example", ".dev.vars");
  console.log("created .dev.vars from .dev.vars.example (edit it to choose your LLM provider)");
}

const wrangler = "node_modules/.bin/wrangler";
const migrate = spawnSync(wrangler, ["d1", "migrations", "apply", "DB", "--local", ...extra.filter((a) => a.startsWith("--persist-to"))], {
  stdio: "inherit",
  env: { ...process.env, CI: "true" },
});
if (migrate.status !== 0) process.exit(migrate.status ?? 1);

const dev = spawn(wrangler, ["dev", "--ip", "127.0.0.1", "--port", port, ...extra], { stdio: "inherit" });
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => dev.kill(sig));
dev.on("exit", (code) => process.exit(code ?? 0));

const base = `http://127.0.0.1:${port}`;
const deadline = Date.now() + 120_000;
while (Date.now() < deadline && dev.exitCode === null) {
  try {
    const res = await fetch(`${base}/health/ready`);
    const body = await res.json();
    const failed = Object.entries(body.checks ?? {}).filter(([, c]) => !c.ok);
    if (!failed.length) {
      const llm = body.checks?.llm;
      console.log(`\n✓ async-agent ${body.version} ready on ${base}${llm?.provider ? ` (LLM: ${llm.provider} ${llm.model})` : ""} — docs: ${base}/docs\n`);
    } else {
      console.error(`\n✗ async-agent started on ${base} but is NOT ready:`);
      for (const [name, c] of failed) console.error(`  - ${name}: ${c.detail ?? c.reason ?? "failed"}`);
      console.error("  Fix .dev.vars (the dev server reloads it), then check again with: curl " + base + "/health/ready\n");
    }
    break;
  } catch {
    await new Promise((r) => setTimeout(r, 500));
  }
}
