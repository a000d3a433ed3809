// Where a change to a doc came from, as Yjs transaction origins. What came from the server is
// not sent back to it; what is already stored is not stored again.

/** Changes that came from the server. */
export const REMOTE_ORIGIN = Symbol('remote');

/** Changes from the server that were stored as they arrived (a doc loaded while they came). */
export const STORED_ORIGIN = Symbol('stored');

/** Whether a change came from the server (so it is neither sent to it nor marked unsaved). */
export const isFromServer = (origin: unknown) => origin === REMOTE_ORIGIN || origin === STORED_ORIGIN;
