/** The printer in-process: colour rules, tables, relative times, step lines. */
import { afterEach, describe, expect, it } from "vitest";
import { duration, Printer, relativeTime } from "../../cli/src/output";
import { gate, visible } from "../../cli/src/terminal-safe";
import { sinceToFrom } from "../../cli/src/commands/usage.cmd";
import { bar, inputSummary, money } from "../../cli/src/views";

function stream(isTTY: boolean, columns = 60) {
  const chunks: string[] = [];
  const s = { isTTY, columns, write: (c: string) => (chunks.push(c), true) };
  return { s: s as unknown as NodeJS.WriteStream, text: () => chunks.join("") };
}
const saved = process.env.NO_COLOR;
afterEach(() => {
  if (saved === undefined) delete process.env.NO_COLOR;
  else process.env.NO_COLOR = saved;
});

describe("printer", () => {
  it("colours only on a terminal, never with NO_COLOR, never with --json", () => {
    delete process.env.NO_COLOR;
    const tty = stream(true);
    new Printer(false, tty.s, tty.s).success("done");
    expect(tty.text()).toBe("\x1b[32m✓\x1b[39m done\n");

    const pipe = stream(false);
    new Printer(false, pipe.s, pipe.s).success("done");
    expect(pipe.text()).toBe("✓ done\n");

    process.env.NO_COLOR = "1";
    const noColor = stream(true);
    new Printer(false, noColor.s, noColor.s).success("done");
    expect(noColor.text()).toBe("✓ done\n");

    delete process.env.NO_COLOR;
    const json = stream(true);
    new Printer(true, json.s, json.s).result({ a: 1 }, () => {
      throw new Error("the human renderer must not run with --json");
    });
    expect(JSON.parse(json.text())).toEqual({ a: 1 });
  });

  it("a spinner draws nothing when not on a terminal", () => {
    const pipe = stream(false);
    const spinner = new Printer(false, pipe.s, pipe.s).spinner("working");
    spinner.stop();
    expect(pipe.text()).toBe("");
  });

  it("tables align columns and cut the last one to the terminal width", () => {
    const out = stream(true, 40);
    process.env.NO_COLOR = "1";
    new Printer(false, out.s, out.s).table(
      ["ID", "OBJECTIVE"],
      [
        ["goal_1", "short"],
        ["goal_22", "a very long objective that does not fit in forty columns"],
      ],
    );
    const lines = out.text().trimEnd().split("\n");
    expect(lines[0]).toBe("ID       OBJECTIVE");
    expect(lines[1]).toBe("goal_1   short");
    expect(lines[2].length).toBeLessThanOrEqual(40);
    expect(lines[2]).toMatch(/^goal_22 {2}a very long .*…$/);
  });
});

describe("formatting", () => {
  const now = Date.parse("2026-11-25T12:00:00Z");
  it("relative times read like a person would say them", () => {
    expect(relativeTime("2026-11-25T12:00:02Z", now)).toBe("now");
    expect(relativeTime("2026-11-25T11:55:00Z", now)).toBe("5 minutes ago");
    expect(relativeTime("2026-11-27T16:00:00Z", now)).toBe("in 2 days");
    expect(relativeTime(null, now)).toBe("—");
  });

  it("durations and tool inputs are short", () => {
    expect(duration(850)).toBe("850ms");
    expect(duration(1234)).toBe("1.2s");
    expect(duration(61_000)).toBe("1m01s");
    expect(inputSummary({ query: "top  AI\nnews", limit: 5 })).toBe('query="top AI news" limit=5');
    expect(inputSummary({ text: "x".repeat(100) }, 20)).toHaveLength(20);
    expect(inputSummary(null)).toBe("");
  });
});

describe("terminal safety", () => {
  // eslint-disable-next-line no-control-regex
  const hasControls = (s: string) => /[\x00-\x08\x0b-\x1f\x7f-\x9f]/.test(s);
  it("makes every control character but newline and tab visible", () => {
    expect(visible("a\x1b]0;title\x07b\x1b[2J\r\nc\td\x7f\u009b31m\x00")).toBe("a␛]0;title␇b␛[2J\nc\td␡\\x9b31m␀");
    expect(visible("over\rwrite")).toBe("over␍write");
    expect(visible("plain text, é ☕")).toBe("plain text, é ☕");
    // Bidi overrides and isolates would reorder the rest of the line ("Trojan Source").
    expect(visible("user\u202etxt.exe\u2066x\u2069")).toBe("user\\u202etxt.exe\\u2066x\\u2069");
  });

  it("the printer's own colours pass its gate; any other sequence in a line is shown, not obeyed", () => {
    delete process.env.NO_COLOR;
    expect(gate("\x1b[32mok\x1b[39m \x1b]52;c;eA==\x07")).toBe("\x1b[32mok\x1b[39m ␛]52;c;eA==␇");
    // SGR the printer never emits, from data that skipped visible(): hidden text, truecolor, several codes at once.
    expect(gate("a\x1b[8mhidden\x1b[28m b")).toBe("a␛[8mhidden\x1b[28m b");
    expect(gate("\x1b[38;2;255;0;0mred\x1b[0;1m")).toBe("␛[38;2;255;0;0mred␛[0;1m");
    const tty = stream(true);
    const p = new Printer(false, tty.s, tty.s);
    p.line(`${p.c.green("ok")} \x1b]0;pwned\x07`);
    p.error("server said \x1b[2J");
    expect(tty.text()).toBe("\x1b[32mok\x1b[39m ␛]0;pwned␇\n\x1b[31merror:\x1b[39m server said ␛[2J\n");
  });

  it("human renderers get data made visible; --json stays exact JSON with no raw control character", () => {
    const value = { s: "t\x1b]0;x\x07\x7f\u009b end", n: 1, list: ["\x1b[2J"] };
    const human = stream(false);
    new Printer(false, human.s, human.s).result(value, (v) => expect(v).toEqual({ s: "t␛]0;x␇␡\\x9b end", n: 1, list: ["␛[2J"] }));
    for (const compact of [false, true]) {
      const out = stream(false);
      const p = new Printer(true, out.s, out.s);
      if (compact) p.ndjson(value);
      else p.result(value, () => undefined);
      expect(hasControls(out.text())).toBe(false);
      expect(JSON.parse(out.text())).toEqual(value);
    }
  });
});

describe("usage rendering", () => {
  it("draws bars in eighths of a cell, prints money people read, and turns --since into a start", () => {
    expect(bar(1, 4)).toBe("████");
    expect(bar(0.5, 3)).toBe("█▌");
    expect(bar(0, 4)).toBe("");
    expect([money(1.234), money(0.00156), money(0), money(null)]).toEqual(["$1.23", "$0.0016", "$0.00", "unknown"]);
    const now = Date.parse("2026-12-03T10:00:00Z");
    expect(sinceToFrom("30d", now)).toBe("2026-11-03T10:00:00.000Z");
    expect(sinceToFrom("12h", now)).toBe("2026-12-02T22:00:00.000Z");
    expect(sinceToFrom("2026-12-01")).toBe("2026-12-01");
    expect(() => sinceToFrom("soon")).toThrow(/expected a duration/);
  });
});
