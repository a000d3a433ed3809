import { describe, expect, it } from 'vitest';
import { escapeInvalidUtf8 } from '../../daemon/name-bytes.js';

const bytes = (...parts: (string | number[])[]) => Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part) : Buffer.from(part))));

describe('escapeInvalidUtf8', () => {
  it.each<[string, Buffer, string]>([
    ['a valid name as it is', bytes('readme.md'), 'readme.md'],
    ['valid multi-byte characters as they are', bytes('😀 café'), '😀 café'],
    ['a lone bad byte', bytes('bad', [0xff], '.txt'), 'bad\\xff.txt'],
    ['each of several bad bytes', bytes([0xfe, 0xff]), '\\xfe\\xff'],
    ['a Latin-1 é (not UTF-8)', bytes('caf', [0xe9]), 'caf\\xe9'],
    ['a truncated sequence, byte by byte', bytes('x', [0xe2, 0x82], 'y'), 'x\\xe2\\x82y'],
    ['an overlong encoding of /', bytes([0xc0, 0xaf]), '\\xc0\\xaf'],
    ['an encoded surrogate', bytes([0xed, 0xa0, 0x80]), '\\xed\\xa0\\x80'],
    ['a stray continuation byte', bytes('a', [0x80], 'b'), 'a\\x80b'],
    ['a backslash, doubled so the text maps back to one name', bytes('a\\', [0xff]), 'a\\\\\\xff'],
    ['the empty name', bytes(), ''],
  ])('shows %s', (_case, name, shown) => {
    expect(escapeInvalidUtf8(name)).toBe(shown);
  });
});
