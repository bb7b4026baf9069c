/**
 * The last runs of goals, fetched only for the rows on screen (GET /runs?goalId=…&limit=8), a few at a time and
 * cached for the page's life, so a list of 1,000 goals costs requests only for what the user looks at.
 */
import { signal } from "@preact/signals";
import { get } from "./api";
import type { Page, Run } from "./types";

export const recentRuns = signal<ReadonlyMap<string, Run[]>>(new Map());
const wanted: string[] = [];
const asked = new Set<string>();
let inFlight = 0;
const CONCURRENCY = 4;

function pump(): void {
  while (inFlight < CONCURRENCY && wanted.length) {
    const id = wanted.pop()!;
    inFlight++;
    get<Page<Run>>(`/runs?goalId=${encodeURIComponent(id)}&limit=8`)
      .then((page) => (recentRuns.value = new Map(recentRuns.value).set(id, page.items)))
      .catch(() => asked.delete(id))
      .finally(() => {
        inFlight--;
        pump();
      });
  }
}

/** Asks for the goals now on screen; older wishes (rows scrolled past) are dropped. */
export function wantRecentRuns(goalIds: string[]): void {
  // Wishes dropped before they were sent are not asked yet: they may be wished again.
  for (const id of wanted) asked.delete(id);
  wanted.length = 0;
  for (const id of goalIds) if (!asked.has(id)) asked.add(id), wanted.push(id);
  wanted.reverse();
  pump();
}

/** After an action on a goal (run now, delete): its marks are fetched again when next shown. */
export function forgetRecentRuns(goalId: string): void {
  asked.delete(goalId);
  const next = new Map(recentRuns.value);
  next.delete(goalId);
  recentRuns.value = next;
}
