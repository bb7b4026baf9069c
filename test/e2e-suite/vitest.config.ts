import { defineConfig } from "vitest/config";

/** The repository root: paths below are relative to it, wherever vitest is started from. */
const root = new URL("../..", import.meta.url).pathname;
const at = (path: string) => `${root}${path}`;

/**
 * `npm run test:e2e`: the end-to-end proof suite (issue 19). Every scenario drives a real `wrangler dev` on
 * 127.0.0.1 with its own persisted state, the fake LLM and the tool fakes. It takes minutes (Worker starts,
 * restarts, load), so it is its own run next to `npm test`; `.ci/run` runs both.
 */
export default defineConfig({
  root,
  test: {
    name: "e2e-suite",
    include: ["test/e2e-suite/**/*.test.ts"],
    environment: "node",
    // One file at a time: each starts its own wrangler dev, and two at once on 2 cores starve each other.
    fileParallelism: false,
    // The fakes first (their ports go to the Worker), then the report that prints the table at the end.
    globalSetup: [at("test/fakes/global-setup.ts"), at("test/e2e-suite/lib/report-setup.ts")],
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
