/**
 * For the "cli" project only: bundles the CLI once, and starts one real Worker (`wrangler dev` on
 * 127.0.0.1, throwaway state, migrated D1) for every CLI test, because Worker startup is slow.
 * Runs after test/fakes/global-setup.ts, whose fake servers' ports it passes to the Worker.
 */
import { execFileSync } from "node:child_process";
import type { TestProject } from "vitest/node";
import { startDevServer } from "../../bench/lib/dev-server.ts";
import { testBindings } from "../bindings.ts";

declare module "vitest" {
  export interface ProvidedContext {
    cliWorkerUrl: string;
  }
}

export default async function setup(project: TestProject) {
  execFileSync(process.execPath, ["cli/build.mjs"], { stdio: "pipe" });
  const ports = project.getProvidedContext().fakePorts;
  const server = await startDevServer(testBindings(ports));
  project.provide("cliWorkerUrl", server.url);
  return () => server.stop();
}
