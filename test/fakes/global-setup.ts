/**
 * Starts the fake servers every suite talks to (127.0.0.1, random ports) and provides their ports
 * as `fakePorts`. Each fake speaks the real wire protocol of the service it stands for.
 */
import type { TestProject } from "vitest/node";
import { startFakes } from "./index";

declare module "vitest" {
  export interface ProvidedContext {
    fakePorts: Record<string, number>;
  }
}

export default async function setup(project: TestProject) {
  const fakes = await startFakes();
  project.provide("fakePorts", fakes.ports);
  return () => fakes.close();
}
