// Cursor keys that survive a round trip exactly. PostgreSQL keeps microseconds and a JS Date
// keeps milliseconds, so a cursor made from a Date would repeat or skip rows whose times differ
// below the millisecond; the time part of a key is therefore formatted by the database itself.
import { sql, type RawBuilder } from 'kysely';
import { errors } from '../errors.js';
import { decodeCursor } from '../pagination.js';

const EXACT_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A timestamptz column as UTC ISO text with all six fractional digits. */
export function exactTime(column: string): RawBuilder<string> {
  return sql<string>`to_char(${sql.ref(column)} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}

export const isExactTime = (v: unknown): v is string => typeof v === 'string' && EXACT_TIME.test(v);
export const isUuid = (v: unknown): v is string => typeof v === 'string' && UUID.test(v);
export const isText = (v: unknown): v is string => typeof v === 'string';
export const isSerial = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

type Checks<T extends unknown[]> = { [K in keyof T]: (v: unknown) => v is T[K] };

/**
 * decodeCursor with each part checked, so a forged cursor is a 400 instead of a database
 * error on a uuid or timestamp cast.
 */
export function decodeKey<T extends unknown[]>(cursor: string | undefined, ...checks: Checks<T>): T | undefined {
  const key = decodeCursor(cursor, checks.length);
  if (!key) return undefined;
  if (!checks.every((check, i) => check(key[i]))) throw errors.invalidCursor();
  return key as unknown as T;
}
