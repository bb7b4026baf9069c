/** `items` in consecutive runs of at most `size`: how rows and messages are fitted to a platform limit per call. */
export function inChunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
