// How the server chooses what of a project to show the model: identifiers split into words,
// files cut into overlapping chunks, BM25 over the chunks, and excerpts fitted to a budget.
import { describe, expect, it } from 'vitest';
import { chunkRanges, CHUNK_LINES, lineCount, ProjectChunkIndex, unindexedReason } from '../server/ai/chunk-index.js';
import { fitExcerpts, rankChunks, truncate } from '../server/ai/context.js';
import { definedNames, identifierParts, singular, termsOf } from '../server/ai/terms.js';

const lines = (count: number, make: (i: number) => string) => Array.from({ length: count }, (_, i) => make(i + 1)).join('\n');

describe('terms', () => {
  it('splits identifiers into their words and keeps the whole', () => {
    expect(identifierParts('retryWithBackoff')).toEqual(['retry', 'With', 'Backoff']);
    expect(identifierParts('HTTPServer')).toEqual(['HTTP', 'Server']);
    expect(identifierParts('MAX_RETRY_COUNT')).toEqual(['MAX', 'RETRY', 'COUNT']);
    expect(identifierParts('toV2Api')).toEqual(['to', 'V', '2', 'Api']);
    expect(termsOf('await retryWithBackoff(fetchUser)')).toEqual(['await', 'retrywithbackoff', 'retry', 'backoff', 'fetchuser', 'fetch', 'user']);
  });

  it('reads plurals as singulars, and finds the names code defines', () => {
    expect(['invoices', 'retries', 'batches', 'status', 'class'].map(singular)).toEqual(['invoice', 'retry', 'batch', 'status', 'class']);
    const code = [
      'export async function retryWithBackoff() {}',
      'export const DEFAULT_LIMIT = 5;',
      'class FolderMirror {',
      '  private async applyDiskEdit(path: string): Promise<void> {',
      '    if (path) {',
      '    const local = 1;',
      '  }',
      'def parse_manifest(data):',
      'func (s *Server) HandleUpgrade(w http.ResponseWriter) {',
    ].join('\n');
    expect(definedNames(code).sort()).toEqual(['DEFAULT_LIMIT', 'FolderMirror', 'HandleUpgrade', 'applyDiskEdit', 'parse_manifest', 'retryWithBackoff']);
  });

  it('drops the function words of a question', () => {
    expect(termsOf('How does the materializer decide when to write?')).toEqual(['materializer', 'decide', 'write']);
  });
});

describe('chunks', () => {
  it('cuts a file into overlapping chunks of lines that cover it all', () => {
    const ranges = chunkRanges(lines(150, (i) => `line ${i}`));
    expect(ranges[0]).toEqual({ startLine: 1, endLine: CHUNK_LINES });
    for (let i = 1; i < ranges.length; i++) {
      expect(ranges[i]!.startLine).toBeLessThanOrEqual(ranges[i - 1]!.endLine);
      expect(ranges[i]!.startLine).toBeGreaterThan(ranges[i - 1]!.startLine);
    }
    expect(ranges.at(-1)!.endLine).toBe(150);
    expect(chunkRanges('one line\n')).toEqual([{ startLine: 1, endLine: 1 }]);
    expect(lineCount('a\nb\n')).toBe(2);
    expect(lineCount('a\nb')).toBe(2);
  });

  it('ends a chunk early on long lines, and leaves lock files and minified code out', () => {
    const wide = lines(40, () => 'x'.repeat(1000));
    expect(chunkRanges(wide)[0]!.endLine).toBeLessThan(10);
    expect(unindexedReason('package-lock.json', '{}')).not.toBeNull();
    expect(unindexedReason('dist/app.min.js', 'x')).not.toBeNull();
    expect(unindexedReason('src/app.js', 'a'.repeat(5000))).toBe('very long lines');
    expect(unindexedReason('src/app.ts', 'export const a = 1;\n')).toBeNull();
  });
});

describe('the chunk index', () => {
  const file = (fileId: string, path: string, content: string, version = '1') => ({ fileId, path, content, version });

  it('finds a camelCase identifier by one of its words, and by its whole name first', () => {
    const index = new ProjectChunkIndex();
    index.upsert(file('a', 'src/net/retry.ts', 'export function retryWithBackoff() {}\n'));
    index.upsert(file('b', 'src/net/retry-policy.ts', '// when to retry: never on 4xx\nexport const retryable = (status: number) => status >= 500;\n'));
    index.upsert(file('c', 'src/ui/colors.ts', "export const teal = '#008080';\n"));
    expect(index.query('retry', { limit: 10 }).map((h) => h.path).sort()).toEqual(['src/net/retry-policy.ts', 'src/net/retry.ts']);
    expect(index.query('where is retryWithBackoff?', { limit: 10 })[0]!.path).toBe('src/net/retry.ts');
    expect(index.query('backoff', { limit: 10 }).map((h) => h.path)).toEqual(['src/net/retry.ts']);
  });

  it('ranks where a name is defined above the files that only call it', () => {
    const index = new ProjectChunkIndex();
    for (let i = 0; i < 6; i++) {
      index.upsert(file(`caller${i}`, `src/callers/caller-${i}.ts`, `import { reconcileLedger } from '../ledger.js';\nawait reconcileLedger(ledger);\nawait reconcileLedger(other);\n`));
    }
    index.upsert(file('def', 'src/ledger.ts', 'export async function reconcileLedger(ledger: Ledger) {\n  return ledger.entries.length;\n}\n'));
    expect(index.query('What does reconcileLedger do?', { limit: 3 })[0]!.path).toBe('src/ledger.ts');
  });

  it('returns the chunk that holds the match, with its line range', () => {
    const index = new ProjectChunkIndex();
    const content = lines(200, (i) => (i === 170 ? 'export function reconcileLedger() {}' : `const filler${i} = ${i};`));
    index.upsert(file('big', 'src/ledger.ts', content));
    const [hit] = index.query('reconcileLedger', { limit: 1 });
    expect(hit!.startLine).toBeLessThanOrEqual(170);
    expect(hit!.endLine).toBeGreaterThanOrEqual(170);
  });

  it('replaces a file on upsert and forgets it on remove', () => {
    const index = new ProjectChunkIndex();
    index.upsert(file('a', 'src/a.ts', 'export const frobnicate = 1;\n'));
    index.upsert(file('a', 'src/renamed.ts', 'export const quuxify = 1;\n', '2'));
    expect(index.query('frobnicate', { limit: 5 })).toEqual([]);
    expect(index.query('quuxify', { limit: 5 }).map((h) => h.path)).toEqual(['src/renamed.ts']);
    expect(index.versions().get('a')).toBe('2');
    index.remove('a');
    expect(index.query('quuxify', { limit: 5 })).toEqual([]);
    expect(index.fileCount).toBe(0);
    expect(index.chunkCount).toBe(0);
  });

  it('shows at most three chunks of one file, so one long file cannot take the whole budget', () => {
    const index = new ProjectChunkIndex();
    index.upsert(file('long', 'src/long.ts', lines(600, (i) => `flushQueue(${i});`)));
    index.upsert(file('short', 'src/short.ts', 'export function flushQueue() {}\n'));
    const ranked = rankChunks(index, 'flushQueue', null);
    expect(ranked.filter((h) => h.fileId === 'long')).toHaveLength(3);
    expect(ranked.map((h) => h.fileId)).toContain('short');
  });
});

describe('fitting excerpts into a budget', () => {
  const content = lines(120, (i) => `line ${i} of the file`);
  const hit = (startLine: number, endLine: number) => ({ fileId: 'f', path: 'f.ts', startLine, endLine, score: 1 });

  it('shows each line once, however the chunks overlap', () => {
    const fitted = fitExcerpts([hit(1, 60), hit(49, 108)], () => content, 100_000);
    expect(fitted.excerpts.map((e) => [e.startLine, e.endLine])).toEqual([
      [1, 60],
      [61, 108],
    ]);
    expect(fitted.text.match(/line 55 of the file/g)).toHaveLength(1);
  });

  it('stays within the budget, cutting the last excerpt and saying so', () => {
    const fitted = fitExcerpts([hit(1, 60), hit(61, 120)], () => content, 1800);
    expect(fitted.text.length).toBeLessThanOrEqual(1800);
    expect(fitted.text).toContain('(rest of the excerpt cut)');
    expect(truncate('a\nb\nc\nd', 100)).toBe('a\nb\nc\nd');
  });
});
