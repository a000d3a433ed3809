import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { applyTextChange, commonAffixes, lineStats } from '../../common/text-diff.js';
import { seededRandom } from '../../bench/lib.js';

function textDoc(initial: string): { doc: Y.Doc; text: Y.Text } {
  const doc = new Y.Doc();
  const text = doc.getText('content');
  text.insert(0, initial);
  return { doc, text };
}

/** Two docs that share the same history, as two daemons after a sync. */
function twinDocs(initial: string): [Y.Doc, Y.Doc] {
  const { doc: first } = textDoc(initial);
  const second = new Y.Doc();
  Y.applyUpdate(second, Y.encodeStateAsUpdate(first));
  return [first, second];
}

function exchange(a: Y.Doc, b: Y.Doc): void {
  const fromA = Y.encodeStateAsUpdate(a, Y.encodeStateVector(b));
  const fromB = Y.encodeStateAsUpdate(b, Y.encodeStateVector(a));
  Y.applyUpdate(b, fromA);
  Y.applyUpdate(a, fromB);
}

// Code points chosen to make trouble: 😀 (D83D DE00) and 😃 (D83D DE03) share a high surrogate,
// 🙀 (D83D DE40) and 𝄞 (D834 DD1E) share none; CRLF, a BOM and a combining accent come along.
const ALPHABET = ['a', 'b', 'c', ' ', '\n', '\n', '\r\n', 'é', 'e\u0301', '😀', '😃', '🙀', '𝄞', '\ufeff', '{', '}'];

function randomText(random: () => number, length: number): string {
  let text = '';
  for (let i = 0; i < length; i++) text += ALPHABET[Math.floor(random() * ALPHABET.length)];
  return text;
}

/** Random edits at code point boundaries, so newText is a well-formed string. */
function randomEdit(random: () => number, text: string): string {
  const points = Array.from(text);
  const edits = 1 + Math.floor(random() * 4);
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(random() * (points.length + 1));
    const removeCount = random() < 0.5 ? Math.floor(random() * 6) : 0;
    const insert = random() < 0.7 ? Array.from(randomText(random, Math.floor(random() * 8))) : [];
    points.splice(at, removeCount, ...insert);
  }
  return points.join('');
}

describe('commonAffixes', () => {
  it('never cuts a surrogate pair', () => {
    expect(commonAffixes('x😀', 'x😃')).toEqual({ prefix: 1, suffix: 0 });
    expect(commonAffixes('😀y', '🙀y')).toEqual({ prefix: 0, suffix: 1 });
    // 𝄞 (D834 DD1E) and 𝄢 (D834 DD22): same high surrogate.
    expect(commonAffixes('a𝄞b', 'a𝄢b')).toEqual({ prefix: 1, suffix: 1 });
    // U+1F600 and U+1F400 share the low surrogate DE00 but not the high one.
    expect(commonAffixes('a\u{1F600}b', 'a\u{1F400}b')).toEqual({ prefix: 1, suffix: 1 });
  });

  it('never overlaps', () => {
    expect(commonAffixes('aaa', 'aaaa')).toEqual({ prefix: 3, suffix: 0 });
    expect(commonAffixes('abab', 'ab')).toEqual({ prefix: 2, suffix: 0 });
  });
});

describe('applyTextChange', () => {
  it('inserts only what was typed', () => {
    const { text } = textDoc('hello world');
    expect(applyTextChange(text, 'hello world', 'hello brave world')).toEqual({ inserted: 6, deleted: 0 });
    expect(text.toString()).toBe('hello brave world');
  });

  it('deletes only what was removed', () => {
    const { text } = textDoc('one two three');
    expect(applyTextChange(text, 'one two three', 'one three')).toEqual({ inserted: 0, deleted: 4 });
    expect(text.toString()).toBe('one three');
  });

  it('does nothing for equal texts', () => {
    const { doc, text } = textDoc('same');
    let updates = 0;
    doc.on('update', () => updates++);
    expect(applyTextChange(text, 'same', 'same')).toEqual({ inserted: 0, deleted: 0 });
    expect(updates).toBe(0);
  });

  it('swaps an emoji for one sharing its high surrogate as a whole code point', () => {
    const { text } = textDoc('a😀b');
    expect(applyTextChange(text, 'a😀b', 'a😃b')).toEqual({ inserted: 2, deleted: 2 });
    expect(text.toString()).toBe('a😃b');
  });

  it('emits one update for a change made of several operations', () => {
    const { doc, text } = textDoc('alpha beta gamma delta');
    let updates = 0;
    doc.on('update', () => updates++);
    applyTextChange(text, 'alpha beta gamma delta', 'ALPHA beta gamma DELTA');
    expect(text.toString()).toBe('ALPHA beta gamma DELTA');
    expect(updates).toBe(1);
  });

  it("runs in the caller's transaction and keeps its origin", () => {
    const { doc, text } = textDoc('x = 1\ny = 2\n');
    const origins: unknown[] = [];
    doc.on('update', (_update: Uint8Array, origin: unknown) => origins.push(origin));
    doc.transact(() => {
      applyTextChange(text, 'x = 1\ny = 2\n', 'x = 10\ny = 2\n');
      text.insert(0, '// header\n');
    }, 'local');
    expect(origins).toEqual(['local']);
  });

  it('refuses when the Y.Text does not hold the old text', () => {
    const { text } = textDoc('abc');
    expect(() => applyTextChange(text, 'abcd', 'abcde')).toThrowError(/does not match/);
  });

  it('handles empty to full and full to empty', () => {
    const { text } = textDoc('');
    applyTextChange(text, '', 'new file\n');
    expect(text.toString()).toBe('new file\n');
    applyTextChange(text, 'new file\n', '');
    expect(text.toString()).toBe('');
  });

  it('turns 500 random edits into the exact new text', () => {
    const random = seededRandom(20_241_126);
    for (let run = 0; run < 500; run++) {
      const oldText = randomText(random, Math.floor(random() * 200));
      const newText = randomEdit(random, oldText);
      const { text } = textDoc(oldText);
      const { inserted, deleted } = applyTextChange(text, oldText, newText);
      // A U+FFFD here would mean Yjs split a surrogate pair; the equality check catches it.
      expect(text.toString(), `run ${run}`).toBe(newText);
      expect(inserted - deleted).toBe(newText.length - oldText.length);
    }
  });

  it('turns 40 random edits of large texts (the line-then-character path) into the exact new text', () => {
    const random = seededRandom(777);
    const lineAlphabet = ['alpha', 'beta', 'gamma', '😀', '😃', '  ', '{', '}', 'x = 1;', '\r'];
    for (let run = 0; run < 40; run++) {
      // Lines drawn from a small set, so many repeat: anchors are scarce and Myers does real work.
      const lines = Array.from({ length: 1500 + Math.floor(random() * 1000) }, () => {
        let line = '';
        const words = Math.floor(random() * 8);
        for (let w = 0; w < words; w++) line += lineAlphabet[Math.floor(random() * lineAlphabet.length)];
        return `${line}\n`;
      });
      const oldText = lines.join('');
      const edited = [...lines];
      const edits = 2 + Math.floor(random() * 30);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(random() * edited.length);
        const choice = random();
        if (choice < 0.3) edited.splice(at, 1 + Math.floor(random() * 5));
        else if (choice < 0.6) edited.splice(at, 0, ...edited.slice(Math.floor(random() * edited.length), Math.floor(random() * edited.length)));
        else edited[at] = randomEdit(random, edited[at] ?? '');
      }
      const newText = edited.join('');
      const { text } = textDoc(oldText);
      applyTextChange(text, oldText, newText);
      expect(text.toString(), `run ${run}`).toBe(newText);
    }
  });

  it('edits a 1 MiB file with a small change as a small change', () => {
    const line = 'const value = computeSomething(input, options); // 😀 comment\n';
    const oldText = line.repeat(Math.ceil((1024 * 1024) / line.length));
    const middle = Math.floor(oldText.length / 2);
    const cut = oldText.lastIndexOf('\n', middle) + 1;
    const newText = `${oldText.slice(0, cut)}// inserted line\n${oldText.slice(cut + 6)}`;
    const { doc, text } = textDoc(oldText);
    // The speed is a benchmark figure; what is asserted is that the change stays minimal.
    let result = { inserted: 0, deleted: 0 };
    doc.transact(() => {
      result = applyTextChange(text, oldText, newText);
    });
    expect(text.toString()).toBe(newText);
    expect(result.inserted + result.deleted).toBeLessThan(40);
  });

  it('replaces the middle in one step when the diff would take too long, and stays correct', () => {
    const random = seededRandom(99);
    const oldText = randomText(random, 200_000);
    const newText = randomText(random, 200_000);
    const { text } = textDoc(oldText);
    // How long this takes is measured in bench/, not asserted here; the result must be exact.
    applyTextChange(text, oldText, newText);
    expect(text.toString()).toBe(newText);
  });
});

describe('applyTextChange with concurrent peers', () => {
  const base = Array.from({ length: 20 }, (_, i) => `line ${i} 😀 text\n`).join('');

  it('merges two edits on different lines made from the same text', () => {
    const [a, b] = twinDocs(base);
    const editA = base.replace('line 3 😀 text', 'line 3 😃 edited by A');
    const editB = base.replace('line 15 😀 text\n', 'line 15 😀 text\nnew line from B\n');
    applyTextChange(a.getText('content'), base, editA);
    applyTextChange(b.getText('content'), base, editB);
    exchange(a, b);
    const merged = a.getText('content').toString();
    expect(b.getText('content').toString()).toBe(merged);
    expect(merged).toBe(base.replace('line 3 😀 text', 'line 3 😃 edited by A').replace('line 15 😀 text\n', 'line 15 😀 text\nnew line from B\n'));
  });

  it('converges and keeps both edits over 200 random pairs of edits on different lines', () => {
    const random = seededRandom(4242);
    for (let run = 0; run < 200; run++) {
      const lines = Array.from({ length: 4 + Math.floor(random() * 20) }, () => `${randomText(random, Math.floor(random() * 30)).replace(/\r?\n/g, '')}\n`);
      const oldText = lines.join('');
      const lineA = Math.floor(random() * lines.length);
      let lineB = Math.floor(random() * lines.length);
      if (lineB === lineA) lineB = (lineA + 1) % lines.length;
      const editLine = (line: string): string => `${randomEdit(random, line.slice(0, -1)).replace(/\r?\n/g, '')}\n`;
      const linesA = [...lines];
      linesA[lineA] = editLine(lines[lineA] as string);
      const linesB = [...lines];
      linesB[lineB] = editLine(lines[lineB] as string);
      const expected = [...lines];
      expected[lineA] = linesA[lineA] as string;
      expected[lineB] = linesB[lineB] as string;

      const [a, b] = twinDocs(oldText);
      applyTextChange(a.getText('content'), oldText, linesA.join(''));
      applyTextChange(b.getText('content'), oldText, linesB.join(''));
      exchange(a, b);
      expect(a.getText('content').toString(), `run ${run}`).toBe(b.getText('content').toString());
      expect(a.getText('content').toString(), `run ${run}`).toBe(expected.join(''));
    }
  });
  it('merges edits on different lines of a large file, where lines are diffed first', () => {
    const lines = Array.from({ length: 3000 }, (_, i) => `  const line${i} = compute(${i % 7}); // 😀\n`);
    const oldText = lines.join('');
    const linesA = [...lines];
    linesA[100] = '  const line100 = computeFaster(0); // 😃\n';
    linesA.splice(2000, 10);
    const linesB = [...lines];
    linesB[101] = '  const line101 = compute(1) + 1; // 😀\n';
    linesB.splice(1500, 0, '// added by B\n');
    const expected = [...lines];
    expected[100] = linesA[100] as string;
    expected[101] = linesB[101] as string;
    expected.splice(2000, 10);
    expected.splice(1500, 0, '// added by B\n');

    const [a, b] = twinDocs(oldText);
    applyTextChange(a.getText('content'), oldText, linesA.join(''));
    applyTextChange(b.getText('content'), oldText, linesB.join(''));
    exchange(a, b);
    expect(a.getText('content').toString()).toBe(b.getText('content').toString());
    expect(a.getText('content').toString()).toBe(expected.join(''));
  });
});

describe('lineStats', () => {
  it.each([
    ['no change', 'a\nb\n', 'a\nb\n', { added: 0, removed: 0 }],
    ['one line added', 'a\nb\n', 'a\nx\nb\n', { added: 1, removed: 0 }],
    ['two lines added at the end', 'a\n', 'a\nb\nc\n', { added: 2, removed: 0 }],
    ['one line removed', 'a\nb\nc\n', 'a\nc\n', { added: 0, removed: 1 }],
    ['one line changed', 'a\nb\nc\n', 'a\nB\nc\n', { added: 1, removed: 1 }],
    ['a change inside a line', 'let x = 1;\nlet y = 2;\n', 'let x = 10;\nlet y = 2;\n', { added: 1, removed: 1 }],
    ['a newline added at the end', 'a\nb', 'a\nb\n', { added: 1, removed: 1 }],
    ['a line split in two', 'hello world\n', 'hello\nworld\n', { added: 2, removed: 1 }],
    ['new file', '', 'a\nb\nc', { added: 3, removed: 0 }],
    ['emptied file', 'a\nb\n', '', { added: 0, removed: 2 }],
    ['CRLF line changed', 'a\r\nb\r\n', 'a\r\nc\r\n', { added: 1, removed: 1 }],
    ['first line changed, same first char', 'abc\nd\n', 'abd\nd\n', { added: 1, removed: 1 }],
    ['last line changed, same last chars', 'a\nxyz\n', 'a\nwyz\n', { added: 1, removed: 1 }],
  ])('counts %s', (_label, oldText, newText, expected) => {
    expect(lineStats(oldText, newText)).toEqual(expected);
  });

  it('agrees with a whole-text line diff on random edits', async () => {
    const { diffLines } = await import('diff');
    const random = seededRandom(31337);
    for (let run = 0; run < 300; run++) {
      const oldText = randomText(random, Math.floor(random() * 120));
      const newText = randomEdit(random, oldText);
      const full = { added: 0, removed: 0 };
      for (const change of diffLines(oldText, newText)) {
        if (change.added) full.added += change.count;
        if (change.removed) full.removed += change.count;
      }
      // Trimming may pick a different but equally small alignment; the net count is fixed.
      const trimmed = lineStats(oldText, newText);
      expect(trimmed.added - trimmed.removed, `run ${run}`).toBe(full.added - full.removed);
      expect(trimmed.added + trimmed.removed, `run ${run}`).toBeLessThanOrEqual(full.added + full.removed);
    }
  });
});
