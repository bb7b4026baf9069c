/** Every fake server, started together. Add a fake here with a name; tests read its port by that name. */
import type { Fake } from "./http";

const FAKES: Record<string, () => Promise<Fake>> = {};

export async function startFakes(): Promise<{ ports: Record<string, number>; close: () => Promise<void> }> {
  const started = await Promise.all(Object.entries(FAKES).map(async ([name, start]) => [name, await start()] as const));
  return {
    ports: Object.fromEntries(started.map(([name, f]) => [name, f.port])),
    close: async () => void (await Promise.all(started.map(([, f]) => f.close()))),
  };
}
