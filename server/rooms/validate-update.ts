// What a client sends is checked before it reaches a room.
import * as Y from 'yjs';

/**
 * Decodes a Yjs update completely before it touches a doc, so a malformed one is refused
 * instead of half-applied. Returns whether the update changes nothing (no structs, no
 * deletions): a viewer's empty sync step 2 is harmless, anything more is a write.
 */
export function validateUpdate(update: Uint8Array): boolean {
  const decoded = Y.decodeUpdate(update);
  return decoded.structs.length === 0 && decoded.ds.clients.size === 0;
}
