/** A terminal for tests: the CLI in a pseudo-terminal (util-linux `script`), and the screen its output leaves. */
import { spawn } from "node:child_process";
import { BIN } from "./bin";

/** The CLI with stdin, stdout and stderr on one pseudo-terminal, as for a person at a terminal; the raw bytes it wrote. */
export function inTerminal(args: string[], opts: { home: string; env: Record<string, string> }): Promise<{ code: number | null; out: string }> {
  const quote = (a: string) => `'${a.replace(/'/g, "'\\''")}'`;
  const command = [process.execPath, BIN, ...args].map(quote).join(" ");
  return new Promise((resolve, reject) => {
    const child = spawn("script", ["-qec", command, "/dev/null"], {
      env: { PATH: process.env.PATH ?? "", HOME: opts.home, LANG: "C.UTF-8", TERM: "xterm-256color", ...opts.env } as unknown as NodeJS.ProcessEnv,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, out }));
  });
}

/**
 * What a terminal shows after `out`: the lines left on screen, colours dropped. Knows what the CLI
 * writes: line ends (as CR LF), carriage returns, cursor up (CSI n A), erase below (CSI J) and to the line's end (CSI K).
 */
export function screen(out: string): string[] {
  const rows: string[][] = [[]];
  let row = 0;
  let col = 0;
  for (const m of out.matchAll(/\x1b\[([0-9;?]*)([A-Za-z])|\r|\n|[^\x1b\r\n]/gu)) {
    const [t, arg, op] = m;
    if (t === "\r") col = 0;
    else if (t === "\n") {
      // A terminal's line discipline turns \n into \r\n (onlcr).
      rows[++row] ??= [];
      col = 0;
    } else if (op === "A") row = Math.max(0, row - Number(arg || 1));
    else if (op === "J") {
      rows[row].length = Math.min(rows[row].length, col);
      rows.length = row + 1;
    } else if (op === "K") rows[row].length = Math.min(rows[row].length, col);
    else if (!op) rows[row][col++] = t;
  }
  return rows.map((r) =>
    Array.from(r, (ch) => ch ?? " ")
      .join("")
      .trimEnd(),
  );
}
