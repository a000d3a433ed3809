// Words the CLI and the daemon both put in front of a user.

/** "1 file", "3 files", "2 entries". */
export const plural = (count: number, one: string, many = `${one}s`) => `${count} ${count === 1 ? one : many}`;
