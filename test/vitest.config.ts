import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { testBindings } from "./bindings.ts";

/** The repository root: paths below are relative to it, wherever vitest is started from. */
const root = new URL("..", import.meta.url).pathname;
const at = (path: string) => `${root}${path}`;

/**
 * Every setting of .dev.vars.example and of the developer's own .dev.vars, empty: wrangler also reads .dev.vars
 * (which `npm run dev` creates from the example), and a value there (PUBLIC_URL, MONTHLY_BUDGET_USD, …) must not
 * change what the tests see. The tests' own values (bindings.ts) go over these.
 */
function unsetDevVars(): Record<string, string> {
  const keysOf = (file: string) => (existsSync(at(file)) ? (readFileSync(at(file), "utf8").match(/^[A-Za-z_][A-Za-z0-9_]*(?=\s*=)/gm) ?? []) : []);
  return Object.fromEntries([...keysOf(".dev.vars.example"), ...keysOf(".dev.vars")].map((k) => [k, ""]));
}

// One `npm test` for both suites: the Worker inside workerd, the CLI in Node.
export default defineConfig(async () => {
  const migrations = await readD1Migrations(at("migrations"));
  // wrangler.toml serves dashboard/dist as assets: the workerd project needs the directory, and the browser tests
  // the dashboard itself. On a clean clone this builds it once; afterwards it returns at once (see the script).
  execFileSync(process.execPath, [at(".ci/dashboard.mjs")], { stdio: "inherit" });
  return {
    root,
    test: {
      projects: [
        {
          plugins: [
            cloudflareTest(({ inject }) => ({
              wrangler: { configPath: at("wrangler.toml") },
              miniflare: {
                // service_binding_extra_handlers lets tests call exports.default.queue()/.scheduled();
                // it stays out of wrangler.toml.
                compatibilityFlags: ["nodejs_compat", "service_binding_extra_handlers"],
                bindings: { ...unsetDevVars(), TEST_MIGRATIONS: migrations, ...testBindings(inject<Record<string, number>>("fakePorts")) },
              },
            })),
          ],
          test: {
            name: "worker",
            include: ["test/worker/**/*.test.ts"],
            setupFiles: [at("test/worker/setup.ts")],
            globalSetup: [at("test/fakes/global-setup.ts")],
            testTimeout: 30_000,
          },
        },
        {
          test: {
            name: "cli",
            include: ["test/cli/**/*.test.ts"],
            // One project at a time (worker, then cli, then e2e): the cli and e2e projects each run a real
            // wrangler dev, and on a 2-core machine three suites at once starve each other into timeouts.
            sequence: { groupOrder: 1 },
            environment: "node",
            // The CLI's setup bundles the CLI and starts one Worker for the whole suite (after the fakes).
            globalSetup: [at("test/fakes/global-setup.ts"), at("test/cli/global-setup.ts")],
            testTimeout: 60_000,
            hookTimeout: 120_000,
          },
        },
        {
          test: {
            // Real processes as a user starts them (`npm run dev` under an older Node, the deploy script).
            name: "e2e",
            include: ["test/e2e/**/*.test.ts"],
            sequence: { groupOrder: 2 },
            environment: "node",
            globalSetup: [at("test/fakes/global-setup.ts")],
            testTimeout: 60_000,
            hookTimeout: 180_000,
          },
        },
        {
          test: {
            // The dashboard in Debian's Chromium (playwright-core) against one real wrangler dev with the fakes.
            name: "browser",
            include: ["test/browser/**/*.test.ts"],
            sequence: { groupOrder: 3 },
            environment: "node",
            globalSetup: [at("test/fakes/global-setup.ts"), at("test/browser/global-setup.ts")],
            testTimeout: 60_000,
            hookTimeout: 120_000,
            // A page waits on the API and a real browser: on a busy 2-core machine a second is not always enough.
            expect: { poll: { timeout: 10_000 } },
          },
        },
      ],
    },
  };
});
