/**
 * Keyset pagination over time-ordered IDs: newest first, `id < cursor`, one extra row to know
 * whether there is a next page. Stable under concurrent inserts: no duplicates, no gaps.
 */
export function pageOf<T extends { id: string }>(rows: T[], limit: number): { items: T[]; nextCursor: string | null } {
  const items = rows.slice(0, limit);
  return { items, nextCursor: rows.length > limit ? (items.at(-1)?.id ?? null) : null };
}
