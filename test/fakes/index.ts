/** Every fake server, started together. Add a fake here with a name; tests read its port by that name. */
import { startEcho } from "./echo";
import type { Fake } from "./http";
import { startLlm } from "./llm";
import { startMcp } from "./mcp";
import { startPages } from "./pages";
import { startResend } from "./resend";
import { startBrave, startSearxng, startTavily } from "./search";
import { startWebhookReceiver } from "./webhook-receiver";

const FAKES: Record<string, () => Promise<Fake>> = {
  llm: startLlm,
  pages: startPages,
  searxng: startSearxng,
  brave: startBrave,
  tavily: startTavily,
  webhooks: startWebhookReceiver,
  resend: startResend,
  echo: startEcho,
  mcp: startMcp,
};

export async function startFakes(): Promise<{ ports: Record<string, number>; close: () => Promise<void> }> {
  const started = await Promise.all(Object.entries(FAKES).map(async ([name, start]) => [name, await start()] as const));
  return {
    ports: Object.fromEntries(started.map(([name, f]) => [name, f.port])),
    close: async () => void (await Promise.all(started.map(([, f]) => f.close()))),
  };
}
