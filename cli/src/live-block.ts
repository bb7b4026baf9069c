/**
 * A block of lines kept at the bottom of the terminal and redrawn in place when it changes (the plan
 * in `run watch`), while other output scrolls above it. Off a terminal nothing is redrawn: each new
 * content is printed once, below what came before. Lines go through the printer (and its gate).
 */
import type { Printer } from "./output";

export class LiveBlock {
  /** Lines of the block on the screen now (terminal only); 0 when it is not drawn, or released. */
  private drawn = 0;
  private lines: string[] = [];
  private last: string | undefined;

  constructor(private readonly p: Printer) {}

  /**
   * Shows new content: on a terminal in place of the old one, elsewhere printed below. Content equal to
   * the last shown prints nothing (a reconnected stream sends the same plan again). Each line must fit
   * the terminal's width, or the redraw would miscount the lines to erase.
   */
  show(lines: string[]): void {
    const key = lines.join("\n");
    if (key === this.last) return;
    this.last = key;
    this.p.eraseLines(this.drawn);
    // Cursor-up stops at the top of the screen: a block taller than it is printed, like off a terminal.
    if (!this.p.tty || lines.length >= this.p.height) {
      this.release();
      for (const l of lines) this.p.line(l);
      return;
    }
    this.lines = lines;
    this.draw();
  }

  /** Prints other output above the block: the block is erased, `print` runs, the block is drawn again below. */
  above(print: () => void): void {
    if (!this.drawn) {
      print();
      return;
    }
    this.p.eraseLines(this.drawn);
    print();
    this.draw();
  }

  /** Leaves the block where it is, as ordinary output: what comes next prints below it. */
  release(): void {
    this.drawn = 0;
    this.lines = [];
  }

  private draw(): void {
    for (const l of this.lines) this.p.line(l);
    this.drawn = this.lines.length;
  }
}
