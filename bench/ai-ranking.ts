// How well `codeshare ask` finds the code a question is about, and what the index costs. A
// generated project of 2,000 TypeScript files, whose functions have unique names and call each
// other across files; each question names a function defined in exactly one file, which must
// be among the excerpts the server would show the model (same ranking, same budget). Also: the
// time to build the index, to update it for one edited file, to answer a query, and the same
// steps through the database (PGlite) as the server runs them.
import { randomUUID } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { openDatabase } from '../db/open.js';
import { ProjectChunkIndex, type IndexedFile } from '../server/ai/chunk-index.js';
import { CONTEXT_SHARES, fitExcerpts, rankChunks } from '../server/ai/context.js';
import { refreshIndex } from '../server/ai/project-indexes.js';
import { defaultServerConfig } from '../server/config.js';
import { Cleanup, median, ms, seededRandom, table, tempDir } from './lib.js';

const FILES = 2000;
const QUESTIONS = 200;
const BUILDS = 3;
const EDITS = 50;
const CALLERS_PER_KEY_SYMBOL = 4;

const VERBS = ['parse', 'build', 'load', 'flush', 'merge', 'resolve', 'render', 'encode', 'decode', 'validate', 'schedule', 'retry', 'compute', 'fetch', 'store', 'sync', 'apply', 'compact', 'normalize', 'reconcile', 'split', 'publish', 'archive', 'refresh'];
const QUALIFIERS = ['pending', 'remote', 'local', 'stale', 'partial', 'cached', 'signed', 'nested', 'primary', 'draft', 'shared', 'expired'];
const NOUNS = ['invoice', 'ledger', 'cursor', 'batch', 'token', 'session', 'folder', 'snapshot', 'update', 'peer', 'branch', 'commit', 'chunk', 'queue', 'socket', 'frame', 'record', 'payload', 'manifest', 'quota', 'tenant', 'report', 'widget', 'palette', 'metric', 'order', 'account', 'webhook', 'schema', 'bucket'];
const WORDS = ['value', 'result', 'items', 'options', 'count', 'limit', 'offset', 'entry', 'state', 'error', 'input', 'output', 'total', 'index', 'buffer'];

const capital = (word: string) => word[0]!.toUpperCase() + word.slice(1);

interface Symbol {
  name: string;
  words: string[];
  file: number;
}

interface Project {
  files: IndexedFile[];
  questions: { named: string; described: string; path: string; symbol: string }[];
}

/** The same project every run: a seeded generator. */
function generateProject(): Project {
  const random = seededRandom(20260611);
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  const seen = new Set<string>();
  const symbols: Symbol[] = [];
  const byFile: Symbol[][] = [];
  const paths: string[] = [];
  const usedPaths = new Set<string>();
  for (let f = 0; f < FILES; f++) {
    let path: string;
    do path = `src/${pick(NOUNS)}s/${pick(QUALIFIERS)}-${pick(NOUNS)}-${Math.floor(random() * 100)}.ts`;
    while (usedPaths.has(path));
    usedPaths.add(path);
    paths.push(path);
    const own: Symbol[] = [];
    const count = 2 + Math.floor(random() * 4);
    while (own.length < count) {
      const words = [pick(VERBS), ...(random() < 0.6 ? [pick(QUALIFIERS)] : []), pick(NOUNS), ...(random() < 0.5 ? [pick(NOUNS)] : [])];
      const name = words[0] + words.slice(1).map(capital).join('');
      if (seen.has(name)) continue;
      seen.add(name);
      const symbol = { name, words, file: f };
      own.push(symbol);
      symbols.push(symbol);
    }
    byFile.push(own);
  }

  // Key symbols: each is called from a few other files, so the name alone is not enough; the
  // definition has to outrank its callers.
  const keys: Symbol[] = [];
  const keyFiles = new Set<number>();
  while (keys.length < QUESTIONS) {
    const symbol = pick(symbols);
    if (keyFiles.has(symbol.file)) continue;
    keyFiles.add(symbol.file);
    keys.push(symbol);
  }
  const calls: Symbol[][] = byFile.map(() => []);
  for (const key of keys) {
    for (let i = 0; i < CALLERS_PER_KEY_SYMBOL; i++) {
      let caller = Math.floor(random() * FILES);
      if (caller === key.file) caller = (caller + 1) % FILES;
      calls[caller]!.push(key);
    }
  }
  for (let f = 0; f < FILES; f++) for (let i = 0; i < 3; i++) calls[f]!.push(pick(symbols));

  const files = byFile.map((own, f): IndexedFile => {
    const lines: string[] = [];
    const imported = calls[f]!.filter((s) => s.file !== f);
    for (const s of imported) lines.push(`import { ${s.name} } from '../${paths[s.file]!.replace(/^src\//, '').replace(/\.ts$/, '.js')}';`);
    lines.push('');
    for (const symbol of own) {
      const [verb, ...rest] = symbol.words;
      lines.push(`/**`, ` * ${capital(verb!)}s the ${rest.join(' ')}: ${pick(WORDS)} first, then ${pick(WORDS)}.`, ` */`);
      lines.push(`export async function ${symbol.name}(${pick(WORDS)}: ${capital(pick(NOUNS))}, options: { ${pick(WORDS)}?: number } = {}) {`);
      const body = 6 + Math.floor(random() * 30);
      for (let i = 0; i < body; i++) {
        const roll = random();
        const callee = imported.length > 0 && roll < 0.15 ? pick(imported) : null;
        if (callee) lines.push(`  const ${pick(WORDS)}${i} = await ${callee.name}(${pick(WORDS)}, options);`);
        else if (roll < 0.3) lines.push(`  // ${pick(WORDS)} before ${pick(WORDS)}: the ${pick(NOUNS)} may be ${pick(QUALIFIERS)}`);
        else if (roll < 0.45) lines.push(`  if (${pick(WORDS)}${i} > options.${pick(WORDS)} ?? ${Math.floor(random() * 100)}) return null;`);
        else lines.push(`  const ${pick(WORDS)}${i} = ${pick(WORDS)}.${pick(WORDS)} + ${Math.floor(random() * 1000)};`);
      }
      lines.push(`  return ${pick(WORDS)};`, '}', '');
    }
    return { fileId: `f${f}`, path: paths[f]!, content: lines.join('\n'), version: '1' };
  });

  const templates = [
    (s: string) => `What does ${s} do?`,
    (s: string) => `How does ${s} handle errors?`,
    (s: string) => `Why would ${s} return null?`,
    (s: string) => `Where is ${s} defined and what are its options?`,
  ];
  const questions = keys.map((key, i) => ({
    named: templates[i % templates.length]!(key.name),
    described: `How do we ${key.words.join(' ')}?`,
    path: paths[key.file]!,
    symbol: key.name,
  }));
  return { files, questions };
}

/** The characters the server gives ranked excerpts when the other sections take their full share. */
function excerptBudgetChars(): number {
  const tokens = defaultServerConfig().ai.contextTokens;
  return tokens * 4 * (1 - CONTEXT_SHARES.tree - CONTEXT_SHARES.activity - CONTEXT_SHARES.git);
}

function selectedPaths(index: ProjectChunkIndex, contents: Map<string, string>, question: string, budget: number): string[] {
  const fitted = fitExcerpts(rankChunks(index, question, null), (fileId) => contents.get(fileId), budget);
  return [...new Set(fitted.excerpts.map((e) => e.path))];
}

const percent = (hits: number, total: number) => `${((100 * hits) / total).toFixed(1)}% (${hits}/${total})`;

export async function runAiRanking(): Promise<string> {
  const cleanup = new Cleanup();
  try {
    const project = generateProject();
    const contents = new Map(project.files.map((f) => [f.fileId, f.content]));
    const totalLines = project.files.reduce((n, f) => n + f.content.split('\n').length, 0);
    const budget = excerptBudgetChars();
    const load = loadavg()[0]!.toFixed(1);

    // Build, in memory: what the server does on a project's first question, less the reading.
    const buildTimes: number[] = [];
    let index = new ProjectChunkIndex();
    for (let run = 0; run < BUILDS; run++) {
      index = new ProjectChunkIndex();
      const started = performance.now();
      for (const file of project.files) index.upsert(file);
      buildTimes.push(performance.now() - started);
    }

    // Recall and query time.
    const queryTimes: number[] = [];
    let namedHits = 0;
    let namedFirst = 0;
    let describedHits = 0;
    const selectedCounts: number[] = [];
    for (const question of project.questions) {
      const started = performance.now();
      const selected = selectedPaths(index, contents, question.named, budget);
      queryTimes.push(performance.now() - started);
      selectedCounts.push(selected.length);
      if (selected.includes(question.path)) namedHits++;
      if (selected[0] === question.path) namedFirst++;
      if (selectedPaths(index, contents, question.described, budget).includes(question.path)) describedHits++;
    }

    // One edited file at a time: re-chunk and re-index it.
    const updateTimes: number[] = [];
    for (let i = 0; i < EDITS; i++) {
      const file = project.files[(i * 37) % project.files.length]!;
      const edited = { ...file, content: `${file.content}\n// edited ${i}: retune the ${NOUNS[i % NOUNS.length]} limits\n`, version: `edit-${i}` };
      const started = performance.now();
      index.upsert(edited);
      updateTimes.push(performance.now() - started);
    }

    // The same through the database, as the server runs it: project_files rows on PGlite.
    const dataDir = await tempDir(cleanup, 'ai-ranking');
    const opened = await openDatabase({ dataDir: join(dataDir, 'pglite') });
    cleanup.add('close the database', () => opened.db.destroy());
    const db = opened.db;
    const userId = randomUUID();
    const projectId = randomUUID();
    await db.insertInto('users').values({ id: userId, username: 'bench' }).execute();
    await db.insertInto('projects').values({ id: projectId, owner_id: userId, name: 'ranking', visibility: 'private' }).execute();
    const rows = project.files.map((f) => ({
      project_id: projectId,
      file_id: f.fileId,
      path: f.path,
      kind: 'text' as const,
      mode: 0o644,
      size: Buffer.byteLength(f.content),
      sha256: null,
      target: null,
      content: f.content,
      updated_by: null,
    }));
    for (let i = 0; i < rows.length; i += 200) await db.insertInto('project_files').values(rows.slice(i, i + 200)).execute();
    const stored = new ProjectChunkIndex();
    const cold = await refreshIndex(db, projectId, stored);
    const unchanged: number[] = [];
    for (let i = 0; i < 5; i++) unchanged.push((await refreshIndex(db, projectId, stored)).ms);
    const oneEdit: number[] = [];
    for (let i = 0; i < 10; i++) {
      const file = project.files[(i * 53) % project.files.length]!;
      await db
        .updateTable('project_files')
        .set({ content: `${file.content}\n// db edit ${i}\n`, updated_at: new Date(Date.now() + i + 1) })
        .where('project_id', '=', projectId)
        .where('file_id', '=', file.fileId)
        .execute();
      const report = await refreshIndex(db, projectId, stored);
      if (report.indexed !== 1) throw new Error(`expected one re-indexed file, got ${report.indexed}`);
      oneEdit.push(report.ms);
    }

    const total = project.questions.length;
    // The runner (bench/run.ts) adds the heading.
    return [
      `How well \`codeshare ask\` finds the code a question is about. A generated project of ${FILES.toLocaleString('en')} TypeScript files (${totalLines.toLocaleString('en')} lines, ${index.chunkCount.toLocaleString('en')} chunks);`,
      `${total} questions, each naming a function defined in exactly one file and called from ${CALLERS_PER_KEY_SYMBOL} others.`,
      `A question counts as found when the defining file is among the excerpts the server would send (ranking and fitting`,
      `as in server/ai/context.ts, ${Math.round(budget).toLocaleString('en')} characters for excerpts of a ${defaultServerConfig().ai.contextTokens}-token context).`,
      `Times are wall clock on this machine (load average ${load} on ${cpus().length} cores when the run started).`,
      '',
      table(
        ['measure', 'result'],
        [
          ['recall: defining file among the excerpts (question names the function)', percent(namedHits, total)],
          ['defining file is the first excerpt', percent(namedFirst, total)],
          ['recall when the question describes it in words ("how do we parse the pending invoice?")', percent(describedHits, total)],
          ['files among the excerpts (median)', String(median(selectedCounts))],
          [`index build, in memory (median of ${BUILDS})`, ms(median(buildTimes))],
          [`index update per edited file, in memory (median of ${EDITS})`, ms(median(updateTimes))],
          [`query: rank + fit excerpts (median of ${total})`, ms(median(queryTimes))],
          ['first question: read all rows from PGlite + build', ms(cold.ms)],
          ['each later question, nothing changed: version check (median of 5)', ms(median(unchanged))],
          ['each later question after one file was edited (median of 10)', ms(median(oneEdit))],
        ],
      ),
      '',
    ].join('\n');
  } finally {
    await cleanup.runAll();
  }
}

export default { name: 'AI context ranking (codeshare ask)', run: runAiRanking };

// Standalone: `node dist/bench/ai-ranking.js` prints the section.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.write(`${await runAiRanking()}\n`);
}
