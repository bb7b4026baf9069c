/** `async-agent config show | set <key> <value>`. */
import type { Command } from "commander";
import { CONFIG_KEYS, type ConfigKey, configPath, maskToken, normalizeUrl, readConfig, resolveConfig, writeConfig } from "../config";
import { examples, flagsOf } from "../context";
import { UsageError } from "../errors";
import { hint } from "../invocation";
import { Printer } from "../output";

export function registerConfig(program: Command): void {
  const config = program.command("config").description("show or change the saved settings");
  examples(config, ["async-agent config show", "async-agent config set url https://async-agent.example.workers.dev"]);

  examples(config.command("show").description("the settings in effect and where each comes from (token masked)"), [
    "async-agent config show",
    "async-agent config show --json",
  ]).action(async (_f: unknown, cmd: Command) => {
    const flags = flagsOf(cmd);
    const p = new Printer(!!flags.json);
    const r = await resolveConfig(flags);
    const token = r.token ? maskToken(r.token) : null;
    p.result({ url: r.url, token, source: r.source, configPath: configPath() }, () =>
      p.fields([
        ["url", `${r.url} ${p.c.dim(`(${r.source.url})`)}`],
        ["token", token ? `${token} ${p.c.dim(`(${r.source.token})`)}` : p.c.yellow(`not set: run \`${hint("init")}\``)],
        ["file", configPath()],
      ]),
    );
  });

  examples(
    config
      .command("set")
      .argument("<key>", `one of: ${CONFIG_KEYS.join(", ")}`)
      .argument("<value>")
      .description("change one saved setting"),
    ["async-agent config set url http://127.0.0.1:8787", 'async-agent config set token "$API_TOKEN"'],
  ).action(async (key: string, value: string, _f: unknown, cmd: Command) => {
    const p = new Printer(!!flagsOf(cmd).json);
    if (!(CONFIG_KEYS as readonly string[]).includes(key)) throw new UsageError(`unknown key "${key}": expected one of ${CONFIG_KEYS.join(", ")}`);
    const next = { ...(await readConfig()), [key as ConfigKey]: key === "url" ? normalizeUrl(value) : value };
    const path = await writeConfig(next);
    p.result({ key, configPath: path }, () => p.success(`set ${key} in ${path}`));
  });
}
