// What the instances tell each other through Redis Streams (DESIGN.md, Scale-out), one binary
// field per stream entry in lib0's encoding, as the wire frames of PROTOCOL.md are. A
// project's stream carries its committed updates (with their project_seq range) and its
// presence; the control stream carries what concerns every instance.
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import type { StoredUpdate } from '../rooms/fanout.js';

export type ProjectEntry =
  /** Updates stored as project_seq from..to; `updates` null: too large for Redis, read them from PostgreSQL. */
  | { kind: 'committed'; instanceId: string; from: number; to: number; updates: StoredUpdate[] | null }
  /** An awareness update of the sender's own clients, identities already stamped by the server. */
  | { kind: 'awareness'; instanceId: string; update: Uint8Array }
  /** An instance started showing the project's presence: the others send their clients' states. */
  | { kind: 'presence-query'; instanceId: string };

export type ControlEntry =
  /** Sockets carrying this access are to be closed on every instance (fields left empty match all). */
  | { kind: 'access-changed'; instanceId: string; projectId: string | null; userId: string | null; tokenId: string | null }
  /** An instance stops serving (SIGTERM): its clients' presence goes at once. */
  | { kind: 'leaving'; instanceId: string };

const COMMITTED = 1;
const COMMITTED_RANGE_ONLY = 2;
const AWARENESS = 3;
const PRESENCE_QUERY = 4;
const ACCESS_CHANGED = 10;
const LEAVING = 11;

export function encodeProjectEntry(entry: ProjectEntry): Uint8Array {
  const encoder = encoding.createEncoder();
  switch (entry.kind) {
    case 'committed':
      encoding.writeVarUint(encoder, entry.updates ? COMMITTED : COMMITTED_RANGE_ONLY);
      encoding.writeVarString(encoder, entry.instanceId);
      encoding.writeVarUint(encoder, entry.from);
      encoding.writeVarUint(encoder, entry.to);
      for (const { docName, update, userId } of entry.updates ?? []) {
        encoding.writeVarString(encoder, docName);
        encoding.writeVarString(encoder, userId ?? '');
        encoding.writeVarUint8Array(encoder, update);
      }
      break;
    case 'awareness':
      encoding.writeVarUint(encoder, AWARENESS);
      encoding.writeVarString(encoder, entry.instanceId);
      encoding.writeVarUint8Array(encoder, entry.update);
      break;
    case 'presence-query':
      encoding.writeVarUint(encoder, PRESENCE_QUERY);
      encoding.writeVarString(encoder, entry.instanceId);
      break;
  }
  return encoding.toUint8Array(encoder);
}

/** Throws on bytes that are not an entry (another program writing to our keys). */
export function decodeProjectEntry(bytes: Uint8Array): ProjectEntry {
  const decoder = decoding.createDecoder(bytes);
  const kind = decoding.readVarUint(decoder);
  const instanceId = decoding.readVarString(decoder);
  switch (kind) {
    case COMMITTED:
    case COMMITTED_RANGE_ONLY: {
      const from = decoding.readVarUint(decoder);
      const to = decoding.readVarUint(decoder);
      if (to < from) throw new Error(`committed range ${from}..${to} is empty`);
      if (kind === COMMITTED_RANGE_ONLY) return { kind: 'committed', instanceId, from, to, updates: null };
      const updates: StoredUpdate[] = [];
      while (decoding.hasContent(decoder)) {
        const docName = decoding.readVarString(decoder);
        const userId = decoding.readVarString(decoder) || null;
        updates.push({ docName, userId, update: decoding.readVarUint8Array(decoder) });
      }
      if (updates.length !== to - from + 1) throw new Error(`committed range ${from}..${to} carries ${updates.length} updates`);
      return { kind: 'committed', instanceId, from, to, updates };
    }
    case AWARENESS:
      return { kind: 'awareness', instanceId, update: decoding.readVarUint8Array(decoder) };
    case PRESENCE_QUERY:
      return { kind: 'presence-query', instanceId };
    default:
      throw new Error(`unknown project stream entry ${kind}`);
  }
}

export function encodeControlEntry(entry: ControlEntry): Uint8Array {
  const encoder = encoding.createEncoder();
  if (entry.kind === 'leaving') {
    encoding.writeVarUint(encoder, LEAVING);
    encoding.writeVarString(encoder, entry.instanceId);
  } else {
    encoding.writeVarUint(encoder, ACCESS_CHANGED);
    encoding.writeVarString(encoder, entry.instanceId);
    for (const value of [entry.projectId, entry.userId, entry.tokenId]) encoding.writeVarString(encoder, value ?? '');
  }
  return encoding.toUint8Array(encoder);
}

export function decodeControlEntry(bytes: Uint8Array): ControlEntry {
  const decoder = decoding.createDecoder(bytes);
  const kind = decoding.readVarUint(decoder);
  const instanceId = decoding.readVarString(decoder);
  if (kind === LEAVING) return { kind: 'leaving', instanceId };
  if (kind !== ACCESS_CHANGED) throw new Error(`unknown control stream entry ${kind}`);
  const field = () => decoding.readVarString(decoder) || null;
  return { kind: 'access-changed', instanceId, projectId: field(), userId: field(), tokenId: field() };
}
