/**
 * Where the CLI finds its server and token: flags > env (ASYNC_AGENT_URL, ASYNC_AGENT_TOKEN) >
 * ~/.async-agent/config.json. The file holds a bearer token, so it is written with mode 0600.
 */
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { UsageError } from "./errors";
import { hint } from "./invocation";

/** `npm run dev` serves here (see the root package.json). */
export const DEFAULT_URL = "http://127.0.0.1:8787";
export const CONFIG_KEYS = ["url", "token"] as const;
export type ConfigKey = (typeof CONFIG_KEYS)[number];
export type ConfigFile = Partial<Record<ConfigKey, string>>;
export type GlobalFlags = { url?: string; token?: string; json?: boolean };
export type Source = "flag" | "env" | "file" | "default";
export type Resolved = { url: string; token: string | undefined; source: { url: Source; token: Source | undefined } };

export const configDir = () => join(homedir(), ".async-agent");
export const configPath = () => join(configDir(), "config.json");

export async function readConfig(): Promise<ConfigFile> {
  let text: string;
  try {
    text = await readFile(configPath(), "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw e;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new UsageError(`${configPath()} is not valid JSON: fix it or run \`${hint("init")}\``);
  }
  if (!parsed || typeof parsed !== "object") return {};
  const out: ConfigFile = {};
  for (const key of CONFIG_KEYS) {
    const v = (parsed as Record<string, unknown>)[key];
    if (typeof v === "string" && v) out[key] = v;
  }
  return out;
}

export async function writeConfig(config: ConfigFile): Promise<string> {
  await mkdir(configDir(), { recursive: true, mode: 0o700 });
  const path = configPath();
  await writeFile(path, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  // writeFile's mode only applies when it creates the file: tighten an existing one too.
  await chmod(path, 0o600);
  return path;
}

/** "https://x.dev/" → "https://x.dev"; refuses anything that is not an http(s) URL. */
export function normalizeUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`invalid URL "${raw}": expected e.g. ${DEFAULT_URL}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new UsageError(`invalid URL "${raw}": expected http(s)`);
  return url.toString().replace(/\/+$/, "");
}

export async function resolveConfig(flags: GlobalFlags, env: NodeJS.ProcessEnv = process.env): Promise<Resolved> {
  const file = await readConfig();
  const pick = (key: ConfigKey, envName: string): [string, Source] | undefined => {
    if (flags[key]) return [flags[key], "flag"];
    if (env[envName]) return [env[envName], "env"];
    if (file[key]) return [file[key], "file"];
    return undefined;
  };
  const url = pick("url", "ASYNC_AGENT_URL") ?? [DEFAULT_URL, "default"];
  const token = pick("token", "ASYNC_AGENT_TOKEN");
  return { url: normalizeUrl(url[0]), token: token?.[0], source: { url: url[1], token: token?.[1] } };
}

/** "dev-…ge-me": enough to recognise a token, not enough to use it. */
export function maskToken(token: string): string {
  if (token.length <= 8) return "*".repeat(token.length);
  return `${token.slice(0, 4)}…${token.slice(-4)}`;
}
