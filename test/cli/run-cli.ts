/** Runs the bundled CLI as a real child process, the way a user's shell does. */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { BIN } from "./bin";

export { BIN };
export type CliResult = { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string };

const tempDirs: string[] = [];

/** A fresh temp dir (a HOME, so no test reads or writes the real ~/.async-agent); removed by `removeTempDirs`. */
export function tempDir(prefix = "async-agent-cli-home-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}
export const tempHome = () => tempDir();

export function removeTempDirs(): void {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** A PATH directory with `async-agent` → the bundle, as a global install has: hints then say `async-agent …`. */
export const installedBinDir = tempDir("async-agent-bin-");
symlinkSync(BIN, join(installedBinDir, "async-agent"));

// Nothing from the developer's shell leaks in: no token, no URL, no colour settings, no npm variables.
const BASE_ENV = { PATH: `${installedBinDir}${delimiter}${process.env.PATH ?? ""}`, LANG: "C.UTF-8" };

export type CliOpts = {
  home: string;
  env?: Record<string, string>;
  stdin?: string;
  onStdout?: (chunk: string, child: ChildProcess) => void;
  timeoutMs?: number;
};

export function runCli(args: string[], opts: CliOpts): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    // worker-configuration.d.ts gives ProcessEnv the Worker's vars as required keys; this env is the CLI's.
    const env = { ...BASE_ENV, HOME: opts.home, ...opts.env } as unknown as NodeJS.ProcessEnv;
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: "pipe" });
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 30_000);
    child.stdout.on("data", (d: Buffer) => {
      stdout += d;
      opts.onStdout?.(d.toString(), child);
    });
    child.stderr.on("data", (d: Buffer) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.end(opts.stdin ?? "");
  });
}

// eslint-disable-next-line no-control-regex
export const hasEscapes = (s: string) => /\x1b/.test(s);
/** Any control character a terminal could act on: C0 but \n and \t, DEL, C1. */
// eslint-disable-next-line no-control-regex
export const hasControls = (s: string) => /[\x00-\x08\x0b-\x1f\x7f-\x9f]/.test(s);
