/** `async-agent init`: find the Worker, check the token, save both to ~/.async-agent/config.json (0600). */
import type { Command } from "commander";
import { ApiClient } from "../api-client";
import { DEFAULT_URL, normalizeUrl, readConfig, writeConfig } from "../config";
import { examples, flagsOf } from "../context";
import { ApiError, UsageError } from "../errors";
import { hint } from "../invocation";
import { Printer } from "../output";
import { ask } from "../prompt";

export function registerInit(program: Command): void {
  examples(program.command("init").description("connect the CLI to your Worker: checks /health and the token, then saves them"), [
    "async-agent init",
    "async-agent init --url http://127.0.0.1:8787 --token dev-token-change-me",
    'async-agent init --url https://async-agent.example.workers.dev --token "$API_TOKEN"',
  ]).action(async (_f: unknown, cmd: Command) => {
    const flags = flagsOf(cmd);
    const p = new Printer(!!flags.json);
    const saved = await readConfig();
    let url = flags.url ?? process.env.ASYNC_AGENT_URL;
    let token = flags.token ?? process.env.ASYNC_AGENT_TOKEN;
    if (!url && p.interactive) url = await ask("Worker URL", { fallback: saved.url ?? DEFAULT_URL });
    if (!token && p.interactive) token = await ask("API token (API_TOKEN of the Worker)", { hidden: true, fallback: saved.token });
    if (!url) url = saved.url ?? DEFAULT_URL;
    if (!token) throw new UsageError(`an API token is required: ${hint("init --token <API_TOKEN>")}`);
    url = normalizeUrl(url);

    const client = new ApiClient(url, token);
    const started = performance.now();
    const health = await client.health();
    const latencyMs = Math.round(performance.now() - started);
    try {
      await client.listGoals({ limit: 1 });
    } catch (e) {
      if (e instanceof ApiError && e.status === 401)
        throw new ApiError(401, e.code, `token rejected by ${url}: it must equal the Worker's API_TOKEN`, e.requestId);
      throw e;
    }
    const path = await writeConfig({ ...saved, url, token });
    p.result({ url, version: health.version, latencyMs, configPath: path }, () => {
      p.success(`connected to ${p.c.bold(url)} (version ${health.version}, ${latencyMs} ms)`);
      p.success(`saved ${path}`);
      p.line(p.c.dim(`next: ${hint('goal create --objective "…" --schedule "0 16 * * 5"')}`));
    });
  });
}
