// A y-protocols awareness update read into its entries and written back, so the server can
// write who a presence state belongs to (DESIGN.md, Scale-out: the server, not the client,
// says whose state it is). y-protocols' modifyAwarenessUpdate changes states but does not say
// which client id each belongs to, which is what refusing another user's ids needs.
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';

export interface AwarenessEntry {
  clientId: number;
  clock: number;
  /** null: the client left. */
  state: Record<string, unknown> | null;
}

/** Throws on bytes that are not an awareness update, or a state that is not a JSON object. */
export function readAwarenessUpdate(update: Uint8Array): AwarenessEntry[] {
  const decoder = decoding.createDecoder(update);
  const count = decoding.readVarUint(decoder);
  const entries: AwarenessEntry[] = [];
  for (let i = 0; i < count; i++) {
    const clientId = decoding.readVarUint(decoder);
    const clock = decoding.readVarUint(decoder);
    const state: unknown = JSON.parse(decoding.readVarString(decoder));
    if (state !== null && (typeof state !== 'object' || Array.isArray(state))) throw new Error(`the state of client ${clientId} is not an object`);
    entries.push({ clientId, clock, state: state as Record<string, unknown> | null });
  }
  return entries;
}

export function writeAwarenessUpdate(entries: readonly AwarenessEntry[]): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, entries.length);
  for (const { clientId, clock, state } of entries) {
    encoding.writeVarUint(encoder, clientId);
    encoding.writeVarUint(encoder, clock);
    encoding.writeVarString(encoder, JSON.stringify(state));
  }
  return encoding.toUint8Array(encoder);
}

/** The state with `user.id` and `user.name` replaced by the connection's own. */
export function stampIdentity(state: Record<string, unknown>, user: { id: string; name: string }): Record<string, unknown> {
  const given = state.user !== null && typeof state.user === 'object' && !Array.isArray(state.user) ? (state.user as Record<string, unknown>) : {};
  return { ...state, user: { ...given, id: user.id, name: user.name } };
}
