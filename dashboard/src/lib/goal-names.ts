/** Goals' objectives by id, for lists that show runs of many goals: fetched once each (GET /goals/:id), a few at a time. */
import { signal } from "@preact/signals";
import { get } from "./api";
import type { Goal } from "./types";

export const goalNames = signal<ReadonlyMap<string, string>>(new Map());
const asked = new Set<string>();
const queue: string[] = [];
let inFlight = 0;

function pump(): void {
  while (inFlight < 4 && queue.length) {
    const id = queue.shift()!;
    inFlight++;
    get<Goal>(`/goals/${encodeURIComponent(id)}`)
      .then((g) => (goalNames.value = new Map(goalNames.value).set(id, g.objective)))
      .catch(() => {}) // a deleted goal keeps showing its id
      .finally(() => {
        inFlight--;
        pump();
      });
  }
}

export function wantGoalNames(ids: string[]): void {
  for (const id of ids) if (!asked.has(id)) asked.add(id), queue.push(id);
  pump();
}
