// How the server chooses what of a project to show the model: identifiers split into words,
// files cut into overlapping chunks, PostgreSQL's full-text ranking over the chunks (on PGlite
// and on PostgreSQL), and excerpts fitted to a budget.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../db/open.js';
import type { Database } from '../db/schema.js';
import { chunkRanges, CHUNK_LINES, lineCount, ProjectChunkIndex, unindexedReason } from '../server/ai/chunk-index.js';
import { fitExcerpts, rankChunks, truncate } from '../server/ai/context.js';
import { ProjectIndexes, refreshIndex } from '../server/ai/project-indexes.js';
import { definedNames, identifierParts, queryGroups, singular, termsOf } from '../server/ai/terms.js';
import { openTestDatabase, STORAGE_KINDS } from './helpers/storage.js';

const lines = (count: number, make: (i: number) => string) => Array.from({ length: count }, (_, i) => make(i + 1)).join('\n');

interface ProjectFilesAt {
  projectId: string;
  put(fileId: string, path: string, content: string): Promise<void>;
  update(fileId: string, change: { path: string; content: string }): Promise<void>;
  remove(fileId: string): Promise<void>;
}

/** A project whose project_files rows the test writes, as the materializer would. */
async function projectFilesAt(db: Kysely<Database>): Promise<ProjectFilesAt> {
  const userId = '00000000-0000-4000-8000-0000000000c1';
  const projectId = '00000000-0000-4000-8000-0000000000c2';
  await db.insertInto('users').values({ id: userId, username: 'ranker' }).execute();
  await db.insertInto('projects').values({ id: projectId, owner_id: userId, name: 'ranking', visibility: 'private' }).execute();
  const sha = (content: string) => createHash('sha256').update(content).digest('hex');
  const at = (fileId: string) => db.updateTable('project_files').where('project_id', '=', projectId).where('file_id', '=', fileId);
  return {
    projectId,
    put: async (fileId, path, content) => {
      await db
        .insertInto('project_files')
        .values({ project_id: projectId, file_id: fileId, path, kind: 'text', mode: 0o644, size: Buffer.byteLength(content), sha256: sha(content), target: null, content, updated_by: null })
        .execute();
    },
    update: async (fileId, { path, content }) => {
      await at(fileId).set({ path, content, size: Buffer.byteLength(content), sha256: sha(content), updated_at: new Date() }).execute();
    },
    remove: async (fileId) => {
      await db.deleteFrom('project_files').where('project_id', '=', projectId).where('file_id', '=', fileId).execute();
    },
  };
}

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

  it('asks for a named identifier whole and weighted up, and for the prefixes of long words', () => {
    // The identifier and its words are matched as they are; other long words also as prefixes.
    expect(queryGroups('Why does retryWithBackoff sleep between attempts?')).toEqual([
      { query: 'retrywithbackoff', terms: 1, weight: 3 },
      { query: 'retry | backoff | sleep | between | attempt', terms: 5, weight: 1 },
      { query: 'sleep:* | between:* | attempt:*', terms: 3, weight: 0.375 },
    ]);
    expect(queryGroups('max_retry_count').find((g) => g.weight === 3)).toEqual({ query: 'maxretrycount', terms: 1, weight: 3 });
    expect(queryGroups('how is it done?')).toEqual([]);
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

describe.each(STORAGE_KINDS)('the chunk index in the database [%s]', (kind) => {
  let opened: Awaited<ReturnType<typeof openTestDatabase>>;
  let files: ProjectFilesAt;
  beforeEach(async () => {
    opened = await openTestDatabase(kind);
    files = await projectFilesAt(opened.db);
  });
  afterEach(async () => {
    await opened?.close();
  });
  const search = async (text: string, limit = 10) => {
    await refreshIndex(opened.db, files.projectId);
    return new ProjectChunkIndex(opened.db, files.projectId).query(text, { limit });
  };

  it('finds a camelCase identifier by one of its words, and by its whole name first', async () => {
    await files.put('a', 'src/net/retry.ts', 'export function retryWithBackoff() {}\n');
    await files.put('b', 'src/net/retry-policy.ts', '// when to retry: never on 4xx\nexport const retryable = (status: number) => status >= 500;\n');
    await files.put('c', 'src/ui/colors.ts', "export const teal = '#008080';\n");
    expect((await search('retry')).map((h) => h.path).sort()).toEqual(['src/net/retry-policy.ts', 'src/net/retry.ts']);
    expect((await search('where is retryWithBackoff?'))[0]!.path).toBe('src/net/retry.ts');
    expect((await search('backoff')).map((h) => h.path)).toEqual(['src/net/retry.ts']);
  });

  it('matches snake_case and non-ASCII identifiers whole, as the question writes them', async () => {
    await files.put('a', 'src/limits.py', 'MAX_RETRY_COUNT = 5\n');
    await files.put('b', 'src/state.py', 'retry_count = 0\nmax_delay = 10\n');
    await files.put('c', 'src/grüße.ts', 'export const begrüßung = "hallo";\n');
    expect((await search('Where is MAX_RETRY_COUNT set?')).map((h) => h.path)).toEqual(['src/limits.py', 'src/state.py']);
    expect((await search('maxRetryCount'))[0]!.path).toBe('src/limits.py');
    expect((await search('begrüßung')).map((h) => h.path)).toEqual(['src/grüße.ts']);
  });

  it('ranks where a name is defined above the files that only call it', async () => {
    for (let i = 0; i < 6; i++) {
      await files.put(`caller${i}`, `src/callers/caller-${i}.ts`, `import { reconcileLedger } from '../ledger.js';\nawait reconcileLedger(ledger);\nawait reconcileLedger(other);\n`);
    }
    await files.put('def', 'src/ledger.ts', 'export async function reconcileLedger(ledger: Ledger) {\n  return ledger.entries.length;\n}\n');
    expect((await search('What does reconcileLedger do?', 3))[0]!.path).toBe('src/ledger.ts');
  });

  it('ranks the asker\'s current file up', async () => {
    await files.put('a', 'src/a.ts', 'export const widgetColor = 1;\n');
    await files.put('b', 'src/b.ts', 'export const widgetColor = 2;\n');
    await refreshIndex(opened.db, files.projectId);
    const index = new ProjectChunkIndex(opened.db, files.projectId);
    for (const current of ['a', 'b']) {
      expect((await index.query('widgetColor', { limit: 2, boostFileId: current }))[0]!.fileId).toBe(current);
    }
  });

  it('returns the chunk that holds the match, with its line range', async () => {
    await files.put('big', 'src/ledger.ts', lines(200, (i) => (i === 170 ? 'export function reconcileLedger() {}' : `const filler${i} = ${i};`)));
    const [hit] = await search('reconcileLedger', 1);
    expect(hit!.startLine).toBeLessThanOrEqual(170);
    expect(hit!.endLine).toBeGreaterThanOrEqual(170);
  });

  it('re-chunks a changed file, forgets a removed one, and records a left-out file once', async () => {
    await files.put('a', 'src/a.ts', 'export const frobnicate = 1;\n');
    await files.put('lock', 'package-lock.json', '{ "frobnicate": true }\n');
    expect(await refreshIndex(opened.db, files.projectId)).toMatchObject({ indexed: 2, removed: 0 });
    expect(await refreshIndex(opened.db, files.projectId)).toMatchObject({ indexed: 0, removed: 0 });
    expect((await search('frobnicate')).map((h) => h.path)).toEqual(['src/a.ts']);

    await files.update('a', { path: 'src/renamed.ts', content: 'export const quuxify = 1;\n' });
    expect(await refreshIndex(opened.db, files.projectId)).toMatchObject({ indexed: 1, removed: 0 });
    expect(await search('frobnicate')).toEqual([]);
    expect((await search('quuxify')).map((h) => h.path)).toEqual(['src/renamed.ts']);

    await files.remove('a');
    expect(await refreshIndex(opened.db, files.projectId)).toMatchObject({ indexed: 0, removed: 1 });
    expect(await search('quuxify')).toEqual([]);
    expect(await new ProjectChunkIndex(opened.db, files.projectId).counts()).toEqual({ files: 1, chunks: 0 });
  });

  it('shows at most three chunks of one file, so one long file cannot take the whole budget', async () => {
    await files.put('long', 'src/long.ts', lines(600, (i) => `flushQueue(${i});`));
    await files.put('short', 'src/short.ts', 'export function flushQueue() {}\n');
    await refreshIndex(opened.db, files.projectId);
    const ranked = await rankChunks(new ProjectChunkIndex(opened.db, files.projectId), 'flushQueue', null);
    expect(ranked.filter((h) => h.fileId === 'long')).toHaveLength(3);
    expect(ranked.map((h) => h.fileId)).toContain('short');
  });

  it('lives in the database: reopened, it answers the same without re-chunking an unchanged file', async () => {
    for (let i = 0; i < 30; i++) await files.put(`f${i}`, `src/mod-${i}.ts`, `export function handler${i}() {\n  return settleInvoice(${i});\n}\n`);
    await files.put('def', 'src/invoice.ts', 'export function settleInvoice(id: number) {\n  return id;\n}\n');
    const first = await new ProjectIndexes(opened.db).current(files.projectId);
    expect(first.refresh).toMatchObject({ indexed: 31, removed: 0 });
    const before = await first.index.query('How does settleInvoice work?', { limit: 5 });

    // A restarted server (or another instance) opens the same storage.
    await opened.db.destroy();
    const again = await openDatabase({ url: opened.storage.databaseUrl, dataDir: join(opened.storage.dataDir, 'pglite') });
    try {
      const second = await new ProjectIndexes(again.db).current(files.projectId);
      expect(second.refresh).toMatchObject({ indexed: 0, removed: 0 });
      expect(await second.index.query('How does settleInvoice work?', { limit: 5 })).toEqual(before);
      expect(before[0]!.path).toBe('src/invoice.ts');
    } finally {
      await again.db.destroy();
    }
    opened = { ...opened, close: () => opened.storage.dispose() };
  });

  it('indexes each file once when questions about one project arrive together', async () => {
    for (let i = 0; i < 250; i++) await files.put(`f${String(i).padStart(3, '0')}`, `src/f${i}.ts`, `export const value${i} = ${i};\n`);
    const indexes = new ProjectIndexes(opened.db);
    const reports = await Promise.all([indexes.current(files.projectId), indexes.current(files.projectId), indexes.current(files.projectId)]);
    expect(reports.map((r) => r.refresh.indexed)).toEqual([250, 0, 0]);
    expect(await reports[0]!.index.counts()).toEqual({ files: 250, chunks: 250 });
  });

  it('indexes each file once when two server instances refresh one project at the same time', async () => {
    for (let i = 0; i < 250; i++) await files.put(`f${String(i).padStart(3, '0')}`, `src/f${i}.ts`, `export const value${i} = ${i};\n`);
    // On PostgreSQL a second pool is a second instance; PGlite serves one process, whose two
    // refreshes then interleave their statements on its one connection.
    const other = kind === 'postgres' ? await openDatabase({ url: opened.storage.databaseUrl }) : null;
    try {
      const reports = await Promise.all([refreshIndex(opened.db, files.projectId), refreshIndex(other?.db ?? opened.db, files.projectId)]);
      expect(reports[0]!.indexed + reports[1]!.indexed).toBe(250);
      expect(await new ProjectChunkIndex(opened.db, files.projectId).counts()).toEqual({ files: 250, chunks: 250 });
      expect((await search('value17')).map((h) => h.path)).toEqual(['src/f17.ts']);
    } finally {
      await other?.db.destroy();
    }
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
