/** `'a', 'b'`: words of the domain's vocabulary for an `IN (...)` in SQL text (constants, never user input). */
export const sqlList = (words: readonly string[]) => words.map((w) => `'${w}'`).join(", ");
