// How values cross between the drivers and the code: the same on PostgreSQL (pg) and PGlite.

/** bigint columns (sequence numbers, sizes) as numbers: they stay far below 2^53. */
export const int8AsNumber = (value: string) => Number(value);

// PGlite's own bytea codec converts byte by byte through arrays of strings: 1 s for a 400 KB
// blob. Node's hex codec does the same in a few milliseconds.
export const byteaFromHex = (value: string) => Buffer.from(value.slice(2), 'hex');

export const byteaToHex = (value: unknown) => {
  if (!(value instanceof Uint8Array)) throw new Error('bytea parameter must be a Uint8Array');
  return `\\x${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}`;
};
