// A file name as the disk holds it: bytes, which on Linux need not be UTF-8. Node decodes such a
// name lossily (U+FFFD for each bad byte), so the string neither opens the file nor tells two
// such names apart; the index cannot carry it either. These names are shown, never shared.
import { isUtf8 } from 'node:buffer';

/** Bytes a well-formed UTF-8 sequence starting with `lead` has (RFC 3629); 0 if none can. */
function sequenceLength(lead: number): number {
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

/**
 * A name's bytes as readable, stable text: every byte that is not part of a well-formed UTF-8
 * sequence is written `\xHH` (two lowercase hex digits) and a backslash is written `\\`;
 * everything else is the character itself. So the text reads like the name, is the same on
 * every scan, and maps back to exactly one byte string (`bad\xff.txt` is the bytes
 * `62 61 64 ff 2e 74 78 74`; a real backslash would show as `\\`).
 */
export function escapeInvalidUtf8(bytes: Uint8Array): string {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let shown = '';
  let runStart = 0;
  const flushRun = (end: number) => {
    shown += buffer.toString('utf8', runStart, end).replaceAll('\\', '\\\\');
  };
  let i = 0;
  while (i < buffer.length) {
    const length = sequenceLength(buffer[i] as number);
    // isUtf8 on the one sequence rejects what the lead byte alone cannot: overlong forms,
    // surrogates, code points above U+10FFFF and missing continuation bytes.
    if (length > 0 && i + length <= buffer.length && isUtf8(buffer.subarray(i, i + length))) {
      i += length;
      continue;
    }
    flushRun(i);
    shown += `\\x${(buffer[i] as number).toString(16).padStart(2, '0')}`;
    i++;
    runStart = i;
  }
  flushRun(buffer.length);
  return shown;
}
