// Words the CLI and the daemon both put in front of a user.

/** "1 file", "3 files", "2 entries". */
export const plural = (count: number, one: string, many = `${one}s`) => `${count} ${count === 1 ? one : many}`;

/** A folder's docs in memory against those in its local store (counted once its start is done). */
export const docsInMemory = ({ inMemory, stored }: { inMemory: number; stored: number | null }) =>
  `${plural(inMemory, 'doc')} in memory of ${stored === null ? 'the stored (being counted)' : `${stored} stored`}`;
