// The multiplexed wire protocol, shared by the server and the daemon. A frame is an envelope
// around y-protocols' own messages:
//
//   frame(doc, type, payload) := varString(doc) • varUint(type) • payload
//
// See PROTOCOL.md beside this file for the grammar of each payload.
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import * as syncProtocol from 'y-protocols/sync';
import type * as Y from 'yjs';

export const messageSync = 0;
export const messageAwareness = 1;
export const messageDenied = 2;
export const messagePersisted = 3;
export const messageUnsubscribe = 4;
/** Client to server: follow every doc of the project, caught up since a feed position. */
export const messageFeedSubscribe = 5;
/** Server to client: everything of the project up to this feed position has been sent and is stored. */
export const messageFeedPosition = 6;
/** Server to client, during a catch-up: this doc's log was compacted past your position; sync it by state vector. */
export const messageFeedResync = 7;

export type MessageType =
  | typeof messageSync
  | typeof messageAwareness
  | typeof messageDenied
  | typeof messagePersisted
  | typeof messageUnsubscribe
  | typeof messageFeedSubscribe
  | typeof messageFeedPosition
  | typeof messageFeedResync;

/** The envelope's doc name of the feed frames, which concern the whole project. */
export const FEED_DOC = '';

export const INDEX_DOC = 'index';
const FILE_DOC_PREFIX = 'file:';
const FILE_ID = /^[A-Za-z0-9_-]{1,64}$/;

export const fileDocName = (fileId: string) => FILE_DOC_PREFIX + fileId;

/** The file id of a file doc's name, or null for the index or an invalid name. */
export function fileIdOfDoc(docName: string): string | null {
  if (!docName.startsWith(FILE_DOC_PREFIX)) return null;
  const id = docName.slice(FILE_DOC_PREFIX.length);
  return FILE_ID.test(id) ? id : null;
}

export const isValidFileId = (id: string) => FILE_ID.test(id);
export const isValidDocName = (docName: string) => docName === INDEX_DOC || fileIdOfDoc(docName) !== null;

/**
 * The multiplexed protocol's version. A client states the version it speaks when it connects
 * (`?protocol=N` on the socket's URL; a client from before versions existed states none and
 * speaks 1). A server refuses a version it no longer speaks, or one newer than its own, with a
 * close code and a reason that says which side to upgrade: never a session that diverges.
 */
export const PROTOCOL_VERSION = 2;
/**
 * The oldest client version this server still speaks. Version 1 daemons followed every file
 * doc with its own sync handshake and keep no feed position; served by this server they would
 * hold a room per file forever, so they are told to upgrade.
 */
export const OLDEST_PROTOCOL_VERSION = 2;

/** The version a connection URL's `protocol` parameter states (absent: 1), or null when it is no version. */
export function statedProtocolVersion(value: unknown): number | null {
  if (value === undefined) return 1;
  const version = typeof value === 'string' && /^[0-9]{1,6}$/.test(value) ? Number(value) : NaN;
  return Number.isInteger(version) && version >= 1 ? version : null;
}

/** WebSocket close codes: data, not magic numbers. Clients do not retry 4400-4499 in a loop. */
export const CloseCode = {
  Malformed: { code: 4400, reason: 'Malformed frame' },
  Unauthorized: { code: 4401, reason: 'Unauthorized' },
  Forbidden: { code: 4403, reason: 'Forbidden' },
  NotFound: { code: 4404, reason: 'Project not found' },
  UpgradeClient: { code: 4426, reason: 'upgrade codeshare: this server no longer speaks the protocol of this version' },
  UpgradeServer: { code: 4427, reason: 'this codeshare server is older than the client: upgrade the server' },
  FrameTooLarge: { code: 4413, reason: 'Frame too large' },
  TooManyDocs: { code: 4414, reason: 'Too many documents on one connection' },
  AccessChanged: { code: 4409, reason: 'Access changed; reconnect' },
  RateLimited: { code: 4429, reason: 'Too many updates' },
  ShuttingDown: { code: 4503, reason: 'Server shutting down' },
} as const;

/**
 * Close codes after which a client should not reconnect without a change (new token, smaller
 * frame). A rate limit and a change of access are not: reconnecting is the way forward.
 */
export const isFatalCloseCode = (code: number) => code >= 4400 && code < 4500 && code !== 4429 && code !== 4409;

function startFrame(docName: string, type: MessageType): encoding.Encoder {
  const encoder = encoding.createEncoder();
  encoding.writeVarString(encoder, docName);
  encoding.writeVarUint(encoder, type);
  return encoder;
}

/** syncStep1: the sender's state vector; subscribes the sender to docName. */
export function encodeSyncStep1(docName: string, doc: Y.Doc): Uint8Array {
  const encoder = startFrame(docName, messageSync);
  syncProtocol.writeSyncStep1(encoder, doc);
  return encoding.toUint8Array(encoder);
}

/** syncStep1 from a stored state vector, for a doc held only as bytes. */
export function encodeSyncStep1FromStateVector(docName: string, stateVector: Uint8Array): Uint8Array {
  const encoder = startFrame(docName, messageSync);
  encoding.writeVarUint(encoder, syncProtocol.messageYjsSyncStep1);
  encoding.writeVarUint8Array(encoder, stateVector);
  return encoding.toUint8Array(encoder);
}

/** syncStep2: everything the receiver (whose state vector is given) is missing. */
export function encodeSyncStep2(docName: string, update: Uint8Array): Uint8Array {
  const encoder = startFrame(docName, messageSync);
  encoding.writeVarUint(encoder, syncProtocol.messageYjsSyncStep2);
  encoding.writeVarUint8Array(encoder, update);
  return encoding.toUint8Array(encoder);
}

export function encodeUpdate(docName: string, update: Uint8Array): Uint8Array {
  const encoder = startFrame(docName, messageSync);
  syncProtocol.writeUpdate(encoder, update);
  return encoding.toUint8Array(encoder);
}

export function encodeAwareness(docName: string, awarenessUpdate: Uint8Array): Uint8Array {
  const encoder = startFrame(docName, messageAwareness);
  encoding.writeVarUint8Array(encoder, awarenessUpdate);
  return encoding.toUint8Array(encoder);
}

export function encodeDenied(docName: string, reason: string): Uint8Array {
  const encoder = startFrame(docName, messageDenied);
  encoding.writeVarString(encoder, reason);
  return encoding.toUint8Array(encoder);
}

export function encodePersisted(docName: string, stateVector: Uint8Array): Uint8Array {
  const encoder = startFrame(docName, messagePersisted);
  encoding.writeVarUint8Array(encoder, stateVector);
  return encoding.toUint8Array(encoder);
}

export function encodeUnsubscribe(docName: string): Uint8Array {
  return encoding.toUint8Array(startFrame(docName, messageUnsubscribe));
}

/** Follow the project's feed; the client holds everything up to `since` (0: nothing). */
export function encodeFeedSubscribe(since: number): Uint8Array {
  const encoder = startFrame(FEED_DOC, messageFeedSubscribe);
  encoding.writeVarUint(encoder, since);
  return encoding.toUint8Array(encoder);
}

export function encodeFeedResync(docName: string): Uint8Array {
  return encoding.toUint8Array(startFrame(docName, messageFeedResync));
}

export function encodeFeedPosition(position: number): Uint8Array {
  const encoder = startFrame(FEED_DOC, messageFeedPosition);
  encoding.writeVarUint(encoder, position);
  return encoding.toUint8Array(encoder);
}

/** A sync payload, decoded. */
export type SyncMessage =
  | { kind: 'step1'; stateVector: Uint8Array }
  | { kind: 'step2'; update: Uint8Array }
  | { kind: 'update'; update: Uint8Array };

export type Frame =
  | { docName: string; type: typeof messageSync; sync: SyncMessage }
  | { docName: string; type: typeof messageAwareness; update: Uint8Array }
  | { docName: string; type: typeof messageDenied; reason: string }
  | { docName: string; type: typeof messagePersisted; stateVector: Uint8Array }
  | { docName: string; type: typeof messageUnsubscribe }
  | { docName: string; type: typeof messageFeedSubscribe; since: number }
  | { docName: string; type: typeof messageFeedPosition; position: number }
  | { docName: string; type: typeof messageFeedResync };

export class MalformedFrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedFrameError';
  }
}

/**
 * Decodes one frame completely; throws MalformedFrameError on anything truncated, unknown or
 * followed by trailing bytes, so a bad frame is refused before it touches any state.
 */
export function decodeFrame(data: Uint8Array): Frame {
  try {
    const decoder = decoding.createDecoder(data);
    const docName = decoding.readVarString(decoder);
    const type = decoding.readVarUint(decoder);
    const frame = readPayload(decoder, docName, type);
    if (decoding.hasContent(decoder)) throw new MalformedFrameError('trailing bytes after the payload');
    return frame;
  } catch (err) {
    if (err instanceof MalformedFrameError) throw err;
    throw new MalformedFrameError(`undecodable frame: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function readPayload(decoder: decoding.Decoder, docName: string, type: number): Frame {
  switch (type) {
    case messageSync: {
      const subtype = decoding.readVarUint(decoder);
      const bytes = decoding.readVarUint8Array(decoder);
      switch (subtype) {
        case syncProtocol.messageYjsSyncStep1:
          return { docName, type, sync: { kind: 'step1', stateVector: bytes } };
        case syncProtocol.messageYjsSyncStep2:
          return { docName, type, sync: { kind: 'step2', update: bytes } };
        case syncProtocol.messageYjsUpdate:
          return { docName, type, sync: { kind: 'update', update: bytes } };
        default:
          throw new MalformedFrameError(`unknown sync message type ${subtype}`);
      }
    }
    case messageAwareness:
      return { docName, type, update: decoding.readVarUint8Array(decoder) };
    case messageDenied:
      return { docName, type, reason: decoding.readVarString(decoder) };
    case messagePersisted:
      return { docName, type, stateVector: decoding.readVarUint8Array(decoder) };
    case messageUnsubscribe:
      return { docName, type };
    case messageFeedResync:
      return { docName, type };
    case messageFeedSubscribe:
    case messageFeedPosition: {
      if (docName !== FEED_DOC) throw new MalformedFrameError('feed frames name no doc');
      const value = decoding.readVarUint(decoder);
      return type === messageFeedSubscribe ? { docName, type, since: value } : { docName, type, position: value };
    }
    default:
      throw new MalformedFrameError(`unknown message type ${type}`);
  }
}

// The plain y-websocket protocol (one doc per socket, no envelope), served at
// /yjs/:projectId/:docName for editor bindings:
//
//   message := varUint(type) • payload      type: 0 sync, 1 awareness, 3 query awareness

export const plainMessageSync = 0;
export const plainMessageAwareness = 1;
export const plainMessageQueryAwareness = 3;

export type PlainMessage =
  | { type: typeof plainMessageSync; sync: SyncMessage }
  | { type: typeof plainMessageAwareness; update: Uint8Array }
  | { type: typeof plainMessageQueryAwareness };

export function decodePlainMessage(data: Uint8Array): PlainMessage {
  try {
    const decoder = decoding.createDecoder(data);
    const type = decoding.readVarUint(decoder);
    let message: PlainMessage;
    if (type === plainMessageSync) {
      const frame = readPayload(decoder, '', messageSync) as Extract<Frame, { type: typeof messageSync }>;
      message = { type, sync: frame.sync };
    } else if (type === plainMessageAwareness) {
      message = { type, update: decoding.readVarUint8Array(decoder) };
    } else if (type === plainMessageQueryAwareness) {
      message = { type };
    } else {
      throw new MalformedFrameError(`unknown message type ${type}`);
    }
    if (decoding.hasContent(decoder)) throw new MalformedFrameError('trailing bytes after the payload');
    return message;
  } catch (err) {
    if (err instanceof MalformedFrameError) throw err;
    throw new MalformedFrameError(`undecodable message: ${err instanceof Error ? err.message : String(err)}`);
  }
}

export function encodePlainSync(kind: 'step1' | 'step2' | 'update', bytes: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, plainMessageSync);
  encoding.writeVarUint(
    encoder,
    kind === 'step1'
      ? syncProtocol.messageYjsSyncStep1
      : kind === 'step2'
        ? syncProtocol.messageYjsSyncStep2
        : syncProtocol.messageYjsUpdate,
  );
  encoding.writeVarUint8Array(encoder, bytes);
  return encoding.toUint8Array(encoder);
}

export function encodePlainAwareness(awarenessUpdate: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, plainMessageAwareness);
  encoding.writeVarUint8Array(encoder, awarenessUpdate);
  return encoding.toUint8Array(encoder);
}
