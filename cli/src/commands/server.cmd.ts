/** `async-agent server status`: health, readiness, LLM validation, version and latency in one look. */
import type { Command } from "commander";
import type { LlmValidation } from "../../../worker/api/schemas";
import { contextFor, examples } from "../context";
import { ApiError, EXIT, SilentExit } from "../errors";
import { hint } from "../invocation";
import { VERSION } from "../version";

export function registerServer(program: Command): void {
  const server = program.command("server").description("the Worker this CLI talks to");
  examples(server.command("status").description("health, readiness checks, LLM provider/model validation, version, latency"), [
    "async-agent server status",
    "async-agent server status --json | jq .ready.ok",
  ])
    .addHelpText("after", "\nExit code: 0 when the server is healthy and ready, 1 otherwise.\n")
    .action(async (_f: unknown, cmd: Command) => {
      const { p, client, config } = await contextFor(cmd);
      const started = performance.now();
      const health = await client.health();
      const latencyMs = Math.round(performance.now() - started);
      const ready = await client.ready();
      let llm: LlmValidation | { ok: false; reason: string } | null;
      try {
        llm = config.token ? await client.validateLlm() : null;
      } catch (e) {
        // A server without the endpoint still has a status worth showing.
        if (!(e instanceof ApiError)) throw e;
        llm = { ok: false, reason: e.message };
      }
      const ok = health.ok && ready.ok && (llm?.ok ?? true);
      p.result({ url: config.url, ok, version: health.version, cliVersion: VERSION, latencyMs, health, ready, llm }, () => {
        const mark = (v: boolean) => (v ? p.c.green("ok") : p.c.red("failing"));
        p.fields([
          ["server", `${config.url} ${p.c.dim(`(${latencyMs} ms)`)}`],
          ["version", `${health.version} ${p.c.dim(`(cli ${VERSION})`)}`],
          ["health", mark(health.ok)],
          ["ready", mark(ready.ok)],
          ...Object.entries(ready.checks).map(([name, c]): [string, string] => [`  ${name}`, `${mark(c.ok)}${c.detail ? ` ${p.c.dim(c.detail)}` : ""}`]),
          [
            "model",
            llm === null
              ? p.c.yellow(`not checked: no token (run \`${hint("init")}\`)`)
              : "provider" in llm
                ? `${mark(llm.ok)} ${llm.provider}/${llm.model}${llm.reason ? ` ${p.c.dim(llm.reason)}` : ""}`
                : `${mark(false)} ${p.c.dim(llm.reason)}`,
          ],
        ]);
      });
      if (!ok) throw new SilentExit(EXIT.failure);
    });
}
