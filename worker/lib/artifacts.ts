/** Where a goal's files live in R2: everything under `goals/<goalId>/`, and nothing else. */
export const goalPrefix = (goalId: string) => `goals/${goalId}/`;

/** Deletes every object under the goal's prefix (R2 `delete` takes up to 1000 keys per call). */
export async function deleteGoalFiles(bucket: R2Bucket, goalId: string): Promise<number> {
  let cursor: string | undefined;
  let deleted = 0;
  do {
    const page = await bucket.list({ prefix: goalPrefix(goalId), cursor, limit: 1000 });
    if (page.objects.length) await bucket.delete(page.objects.map((o) => o.key));
    deleted += page.objects.length;
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return deleted;
}
