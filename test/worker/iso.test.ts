import { describe, expect, it } from "vitest";
import { iso } from "../../worker/lib/iso";

describe("iso: timestamps as the API shows them", () => {
  it("equals Date's toISOString at the edges of days, months, leap years and the 4-digit range, and at random", () => {
    const edges = [
      0,
      -1,
      1,
      999,
      1000,
      86_399_999,
      86_400_000,
      Date.UTC(2000, 1, 29, 23, 59, 59, 999),
      Date.UTC(1900, 1, 28, 12),
      Date.UTC(2100, 2, 1),
      Date.UTC(2024, 11, 31, 23, 59, 59, 999),
      Date.UTC(2026, 9, 25, 1, 0, 0, 5),
      -62_167_219_200_000,
      253_402_300_799_999,
      Date.UTC(1969, 11, 31, 23, 59, 59, 1),
    ];
    let seed = 42;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const samples = [...edges, ...Array.from({ length: 20_000 }, () => Math.floor((random() * 2 - 0.5) * 253_402_300_799_999))];
    for (const ms of samples) expect(iso(ms), String(ms)).toBe(new Date(ms).toISOString());
  });

  it("leaves what has no 4-digit year, and fractions, to Date (which throws for an invalid time)", () => {
    for (const ms of [-62_167_219_200_001, 253_402_300_800_000, 1.5, 8.64e15]) expect(iso(ms)).toBe(new Date(ms).toISOString());
    expect(() => iso(Number.NaN)).toThrow(RangeError);
  });
});
