// Many docs' Yjs updates in one HTTP body: share uploads its files' docs this way (DESIGN.md,
// Scale: bulk share) instead of one WebSocket frame and one room per file. A body is a run of
// records, each varString(docName) then varUint8Array(update), in lib0's encoding as the frames
// of PROTOCOL.md are.
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';

export interface DocUpdate {
  docName: string;
  update: Uint8Array;
}

/** The largest body one request carries: the server refuses more, a client sends several. */
export const DOC_UPDATES_BODY_BYTES = 8 * 1024 * 1024;

export function encodeDocUpdates(records: readonly DocUpdate[]): Uint8Array {
  const encoder = encoding.createEncoder();
  for (const { docName, update } of records) {
    encoding.writeVarString(encoder, docName);
    encoding.writeVarUint8Array(encoder, update);
  }
  return encoding.toUint8Array(encoder);
}

/** The bytes a record takes in a body, so a client can cut its batches below the limit. */
export const encodedSize = (record: DocUpdate): number => record.docName.length * 3 + record.update.byteLength + 10;

/** The records of a body; throws an Error naming the first record that does not decode. */
export function decodeDocUpdates(body: Uint8Array): DocUpdate[] {
  const decoder = decoding.createDecoder(body);
  const records: DocUpdate[] = [];
  while (decoding.hasContent(decoder)) {
    try {
      const docName = decoding.readVarString(decoder);
      const update = decoding.readVarUint8Array(decoder);
      records.push({ docName, update });
    } catch {
      throw new Error(`record ${records.length + 1} is cut short or malformed`);
    }
  }
  return records;
}
