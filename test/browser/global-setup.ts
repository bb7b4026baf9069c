/**
 * For the "browser" project: one real Worker (`wrangler dev`, throwaway state, the fakes' ports) for every
 * browser test, as the CLI tests have (same helpers: bench/lib/dev-server.ts, test/bindings.ts). wrangler's
 * [build] has built the dashboard it serves (test/vitest.config.ts already did, so this is the up-to-date check).
 */
import type { TestProject } from "vitest/node";
import { startDevServer } from "../../bench/lib/dev-server.ts";
import { testBindings } from "../bindings.ts";

declare module "vitest" {
  export interface ProvidedContext {
    dashboardUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const server = await startDevServer(testBindings(project.getProvidedContext().fakePorts));
  project.provide("dashboardUrl", server.url);
  return () => server.stop();
}
