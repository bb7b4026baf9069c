/** The views of a person in the loop, in-process: the waiting status, what a run waits for, the plan as a checklist and its live redraw. */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Run } from "../../worker/api/schemas";
import { LiveBlock } from "../../cli/src/live-block";
import { Printer } from "../../cli/src/output";
import { planLines, statusLabel, waitingBlock } from "../../cli/src/views";
import { screen } from "./terminal";

function stream(isTTY: boolean, columns = 60, rows = 40) {
  const chunks: string[] = [];
  const s = { isTTY, columns, rows, write: (c: string) => (chunks.push(c), true) };
  return { s: s as unknown as NodeJS.WriteStream, text: () => chunks.join("") };
}
const saved = process.env.NO_COLOR;
beforeEach(() => {
  process.env.NO_COLOR = "1";
});
afterEach(() => {
  if (saved === undefined) delete process.env.NO_COLOR;
  else process.env.NO_COLOR = saved;
});

const inADay = new Date(Date.now() + 24 * 3600_000 - 60_000).toISOString();
const run = (waitingFor: Run["waitingFor"]): Run => ({
  id: "run_w",
  goalId: "goal_w",
  status: "waiting",
  trigger: "manual",
  scheduledFor: null,
  startedAt: new Date().toISOString(),
  endedAt: null,
  stepsExecuted: 1,
  stepBudget: 20,
  tokens: { prompt: 0, completion: 0, cached: 0, reasoning: 0, total: 0 },
  costUsd: null,
  model: null,
  summary: null,
  error: null,
  endReason: null,
  skippedCount: 0,
  delivery: null,
  plan: null,
  waitingFor,
  createdAt: new Date().toISOString(),
  updatedAt: new Date().toISOString(),
});
const plan = (...items: [string, "pending" | "in_progress" | "done" | "skipped"][]) => ({
  items: items.map(([title, status]) => ({ title, status })),
  updatedAt: new Date().toISOString(),
});

describe("waiting", () => {
  it("the waiting status stands out: magenta with a flag on a terminal, the flag alone in a pipe", () => {
    delete process.env.NO_COLOR;
    const tty = stream(true);
    expect(statusLabel(new Printer(false, tty.s, tty.s), "waiting")).toBe("\x1b[35m⚑ waiting\x1b[39m");
    const pipe = stream(false);
    expect(statusLabel(new Printer(false, pipe.s, pipe.s), "waiting")).toBe("⚑ waiting");
  });

  it("an approval shows the tool, its whole input, when it expires, and the commands that approve or deny", () => {
    const out = stream(false);
    const p = new Printer(false, out.s, out.s);
    const w = {
      kind: "approval" as const,
      id: "run_w.w1",
      stepNo: 2,
      askedAt: new Date().toISOString(),
      expiresAt: inADay,
      tool: "send_webhook",
      input: { payload: { total: 42 } },
    };
    waitingBlock(p, run(w));
    const lines = out.text().split("\n");
    expect(lines[0]).toBe(
      `⚑ run run_w waits for your approval to call send_webhook · expires in 24 hours (${inADay.slice(0, 10)} ${inADay.slice(11, 16)} UTC)`,
    );
    expect(lines.slice(1, 6)).toEqual(["    {", '      "payload": {', '        "total": 42', "      }", "    }"]);
    expect(lines[6]).toMatch(/^ {2}approve: (npx )?async-agent run approve run_w$/);
    expect(lines[7]).toMatch(/^ {2}deny: {4}(npx )?async-agent run deny run_w --note "<why>"$/);
  });

  it("a question shows its choices and the command that answers; a huge input is cut with a pointer to the whole", () => {
    const out = stream(false);
    const p = new Printer(false, out.s, out.s);
    const base = { id: "run_w.w1", stepNo: 1, askedAt: new Date().toISOString(), expiresAt: inADay };
    waitingBlock(p, run({ kind: "question", ...base, question: "Which region first?", choices: ["EU", "US"] }));
    expect(out.text()).toMatch(
      /^⚑ run run_w asks: Which region first\? · expires in 24 hours \(.*\)\n {2}choices: EU · US\n {2}answer: {2}(npx )?async-agent run answer run_w "<text>"\n$/,
    );
    const big = stream(false);
    waitingBlock(new Printer(false, big.s, big.s), run({ kind: "approval", ...base, tool: "write_file", input: { content: "x".repeat(5000) } }));
    expect(big.text()).toMatch(/x…\n {4}\(cut: the whole input with (npx )?async-agent run show run_w --json\)\n/);
  });
});

describe("the plan", () => {
  it("is a checklist: [x] done, [~] in progress, [ ] pending, [-] skipped, with a count and the note", () => {
    const out = stream(false);
    const p = new Printer(false, out.s, out.s);
    const lines = planLines(p, {
      ...plan(["Find sources", "done"], ["Summarize", "in_progress"], ["Email it", "pending"], ["Tweet it", "skipped"]),
      note: "no Twitter key",
    });
    expect(lines).toEqual(["Plan 1/4 done", "  [x] Find sources", "  [~] Summarize", "  [ ] Email it", "  [-] Tweet it", "  no Twitter key"]);
  });

  it("cuts long titles to the width, so a redraw knows how many lines it takes", () => {
    const out = stream(true, 30);
    const p = new Printer(false, out.s, out.s);
    const [, item] = planLines(p, plan(["a title far longer than thirty columns of terminal", "pending"]), 29);
    expect(item).toBe("  [ ] a title far longer tha…");
    expect(item.length).toBeLessThanOrEqual(29);
  });

  it("on a terminal, stays below other output and is redrawn in place when it changes", () => {
    const out = stream(true);
    const p = new Printer(false, out.s, out.s);
    const block = new LiveBlock(p);
    block.show(planLines(p, plan(["One", "in_progress"], ["Two", "pending"])));
    block.above(() => p.line("✓  1 remember"));
    block.show(planLines(p, plan(["One", "done"], ["Two", "in_progress"])));
    block.show(planLines(p, plan(["One", "done"], ["Two", "in_progress"])));
    block.above(() => p.line("✓  2 remember"));
    block.show(planLines(p, plan(["One", "done"], ["Two", "done"])));
    block.release();
    p.line("✓ completed");
    expect(out.text()).toContain("\r\x1b[3A\x1b[J");
    expect(screen(out.text())).toEqual(["✓  1 remember", "✓  2 remember", "Plan 2/2 done", "  [x] One", "  [x] Two", "✓ completed", ""]);
  });

  it("a plan taller than the terminal is printed below, not redrawn (cursor-up stops at the top of the screen)", () => {
    const out = stream(true, 60, 4);
    const p = new Printer(false, out.s, out.s);
    const block = new LiveBlock(p);
    block.show(planLines(p, plan(["One", "in_progress"], ["Two", "pending"])));
    block.show(planLines(p, plan(["One", "done"], ["Two", "in_progress"], ["Three", "pending"], ["Four", "pending"])));
    block.show(planLines(p, plan(["One", "done"], ["Two", "done"])));
    expect(out.text()).toBe(
      "Plan 0/2 done\n  [~] One\n  [ ] Two\n\r\x1b[3A\x1b[JPlan 1/4 done\n  [x] One\n  [~] Two\n  [ ] Three\n  [ ] Four\nPlan 2/2 done\n  [x] One\n  [x] Two\n",
    );
  });

  it("off a terminal, prints each new plan once, below what came before, and no escape sequence", () => {
    const out = stream(false);
    const p = new Printer(false, out.s, out.s);
    const block = new LiveBlock(p);
    block.show(planLines(p, plan(["One", "in_progress"])));
    block.above(() => p.line("step"));
    block.show(planLines(p, plan(["One", "in_progress"])));
    block.show(planLines(p, plan(["One", "done"])));
    expect(out.text()).toBe("Plan 0/1 done\n  [~] One\nstep\nPlan 1/1 done\n  [x] One\n");
  });

  it("titles from the model reach the terminal visible, never obeyed", () => {
    const out = stream(true);
    const p = new Printer(false, out.s, out.s);
    new LiveBlock(p).show(planLines(p, p.safe(plan(["Read\x1b]0;pwned\x07 the page", "done"]))));
    expect(out.text()).toBe("Plan 1/1 done\n  [x] Read␛]0;pwned␇ the page\n");
  });
});
