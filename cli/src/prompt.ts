/** Questions on a terminal. Callers check `printer.interactive` first: nothing here runs in a pipe. */
import { createInterface, type Interface } from "node:readline";
import { EXIT, SilentExit } from "./errors";

type Rl = Interface & { _writeToOutput: (s: string) => void };
let rl: Rl | undefined;
let muted = false;
let closed = false;
// Lines typed ahead of their question are kept, not lost between two questions.
const typed: string[] = [];
let waiting: ((line: string | null) => void) | undefined;

/** One interface for the whole process: a second one would lose input the first had buffered. */
function session(): Rl {
  if (rl) return rl;
  rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true }) as Rl;
  const write = rl._writeToOutput.bind(rl);
  // Hidden answers (tokens): readline echoes keystrokes through _writeToOutput, so drop them.
  rl._writeToOutput = (s: string) => {
    if (!muted) write(s);
  };
  rl.on("line", (line) => {
    const w = waiting;
    waiting = undefined;
    if (w) w(line);
    else typed.push(line);
  });
  rl.on("close", () => {
    closed = true;
    waiting?.(null);
  });
  // Ctrl-C at a prompt: nothing has been sent yet, so just leave.
  rl.on("SIGINT", () => {
    process.stderr.write("\n");
    process.exit(EXIT.interrupted);
  });
  return rl;
}

export function closePrompts(): void {
  rl?.close();
  rl = undefined;
}

/** Asks one question; an empty answer gives `fallback`. `hidden` does not echo what is typed. */
export async function ask(question: string, opts: { fallback?: string; hidden?: boolean } = {}): Promise<string> {
  const r = session();
  const suffix = opts.fallback && !opts.hidden ? ` (${opts.fallback})` : "";
  r.setPrompt(`${question}${suffix}: `);
  r.prompt();
  muted = !!opts.hidden;
  const line = typed.length ? (typed.shift() as string) : closed ? null : await new Promise<string | null>((resolve) => (waiting = resolve));
  if (muted) process.stderr.write("\n");
  muted = false;
  // Ctrl-D closed the input: there is nothing to answer with.
  if (line === null) throw new SilentExit(EXIT.interrupted);
  return line.trim() || opts.fallback || "";
}

export async function confirm(question: string, defaultYes = false): Promise<boolean> {
  const answer = (await ask(`${question} ${defaultYes ? "[Y/n]" : "[y/N]"}`)).toLowerCase();
  return answer ? answer === "y" || answer === "yes" : defaultYes;
}
