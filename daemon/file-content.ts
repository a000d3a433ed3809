// Decides whether a file's bytes live in a Y.Text (text) or travel as a blob (binary). The
// rule that matters is the round trip: a file classified as text must come back from its string
// byte for byte, or two daemons would never agree on the folder (invariant 2).
import { isUtf8 } from 'node:buffer';
import { sha256Hex } from '../common/fs-helpers.js';

/** Text files above this size are synced as blobs: a Y.Text of megabytes is slow for everyone. */
export const DEFAULT_MAX_TEXT_BYTES = 1024 * 1024;

export type ClassifiedContent = { kind: 'text'; text: string } | { kind: 'binary' };

// fatal: invalid UTF-8 (overlong forms, encoded surrogates, truncated sequences) throws instead
// of turning into U+FFFD, which would not encode back to the same bytes.
// ignoreBOM: a byte order mark stays in the string, so encoding the string restores it.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function classifyContent(bytes: Uint8Array, maxTextBytes: number = DEFAULT_MAX_TEXT_BYTES): ClassifiedContent {
  if (!mayBeText(bytes, maxTextBytes)) return { kind: 'binary' };
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    return { kind: 'binary' };
  }
  return { kind: 'text', text };
}

/** classifyContent's verdict, without decoding the text. */
export function contentKind(bytes: Uint8Array, maxTextBytes: number = DEFAULT_MAX_TEXT_BYTES): 'text' | 'binary' {
  return mayBeText(bytes, maxTextBytes) && isUtf8(bytes) ? 'text' : 'binary';
}

function mayBeText(bytes: Uint8Array, maxTextBytes: number): boolean {
  // A NUL is valid UTF-8 but no text editor writes one; git treats it as the binary marker too.
  return bytes.byteLength <= maxTextBytes && bytes.indexOf(0) === -1;
}

/** The bytes a text file has on disk: the inverse of classifyContent for every text it returns. */
export function encodeText(text: string): Buffer {
  return Buffer.from(text, 'utf8');
}

export { sha256Hex };
