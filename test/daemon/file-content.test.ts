import { describe, expect, it } from 'vitest';
import { classifyContent, DEFAULT_MAX_TEXT_BYTES, encodeText, sha256Hex } from '../../daemon/file-content.js';
import { seededRandom } from '../../bench/lib.js';

function roundTrips(bytes: Uint8Array): string {
  const result = classifyContent(bytes);
  expect(result.kind).toBe('text');
  if (result.kind !== 'text') throw new Error('unreachable');
  expect(Buffer.compare(encodeText(result.text), Buffer.from(bytes))).toBe(0);
  expect(Buffer.compare(Buffer.from(result.text, 'utf8'), Buffer.from(bytes))).toBe(0);
  return result.text;
}

describe('classifyContent', () => {
  it.each([
    ['empty', ''],
    ['plain', 'hello\n'],
    ['no trailing newline', 'hello'],
    ['CRLF', 'line one\r\nline two\r\n'],
    ['mixed line endings', 'a\r\nb\nc\rd'],
    ['emoji and skin tone', 'ok 😀👍🏽 done\n'],
    ['combining (NFD kept as is)', 'cafe\u0301\n'],
    ['precomposed (NFC kept as is)', 'caf\u00e9\n'],
    ['CJK', '漢字かな\n'],
    ['trailing spaces and tabs', 'x \t \n\t\n'],
    ['a lone U+FFFD that was really in the file', 'bad \ufffd char'],
  ])('keeps %s byte-exact', (_label, text) => {
    expect(roundTrips(Buffer.from(text, 'utf8'))).toBe(text);
  });

  it('keeps a UTF-8 byte order mark in the string', () => {
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('first line\r\n')]);
    const text = roundTrips(bytes);
    expect(text.charCodeAt(0)).toBe(0xfeff);
    expect(text.length).toBe('first line\r\n'.length + 1);
  });

  it('keeps two byte order marks', () => {
    roundTrips(Buffer.from([0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf, 0x61]));
  });

  it.each([
    ['a NUL byte', [0x61, 0x00, 0x62]],
    ['invalid byte 0xff', [0x61, 0xff]],
    ['an overlong slash', [0xc0, 0xaf]],
    ['an encoded surrogate (CESU-8)', [0xed, 0xa0, 0x80]],
    ['a truncated sequence', [0x61, 0xe2, 0x82]],
    ['a stray continuation byte', [0x80, 0x61]],
    ['a code point past U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
    ['a PNG header', [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00]],
    ['UTF-16 with a BOM', [0xff, 0xfe, 0x61, 0x00]],
  ])('calls %s binary', (_label, bytes) => {
    expect(classifyContent(Uint8Array.from(bytes))).toEqual({ kind: 'binary' });
  });

  it('puts the size limit on bytes, inclusive', () => {
    const atLimit = Buffer.alloc(100, 0x61);
    expect(classifyContent(atLimit, 100).kind).toBe('text');
    expect(classifyContent(Buffer.alloc(101, 0x61), 100)).toEqual({ kind: 'binary' });
    expect(classifyContent(Buffer.alloc(DEFAULT_MAX_TEXT_BYTES, 0x61)).kind).toBe('text');
    expect(classifyContent(Buffer.alloc(DEFAULT_MAX_TEXT_BYTES + 1, 0x61))).toEqual({ kind: 'binary' });
  });

  it('round-trips 2,000 random valid UTF-8 texts exactly', () => {
    const random = seededRandom(7);
    const randomCodePoint = (): number => {
      const bucket = random();
      if (bucket < 0.5) return 0x20 + Math.floor(random() * 0x5f);
      if (bucket < 0.6) return [0x0a, 0x0d, 0x09, 0xfeff][Math.floor(random() * 4)] as number;
      if (bucket < 0.8) return 0x80 + Math.floor(random() * (0xd800 - 0x80));
      if (bucket < 0.9) return 0xe000 + Math.floor(random() * 0x2000);
      return 0x10000 + Math.floor(random() * 0xfffff);
    };
    for (let run = 0; run < 2000; run++) {
      const length = Math.floor(random() * 64);
      const text = String.fromCodePoint(...Array.from({ length }, randomCodePoint));
      expect(roundTrips(Buffer.from(text, 'utf8'))).toBe(text);
    }
  });
});

describe('sha256Hex', () => {
  it('matches the published test vector, for bytes and strings alike', () => {
    const abc = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
    expect(sha256Hex(Buffer.from('abc'))).toBe(abc);
    expect(sha256Hex('abc')).toBe(abc);
    expect(sha256Hex(new Uint8Array())).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });
});
