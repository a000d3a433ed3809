// How well `codeshare ask` finds the code a question is about, and what the index costs. A
// generated project of 2,000 TypeScript files, whose functions have unique names and call each
// other across files; each question names a function defined in exactly one file, which must
// be among the excerpts the server would show the model (same ranking, same budget). The index
// lives in the database (file_chunks, PostgreSQL full-text search), so every figure is taken
// through it, on embedded PGlite and on PostgreSQL: the first question (chunking every file),
// a question with nothing changed, one after an edit, and a query. Last, the server-side memory
// of a question about a 40,000-file project, read from a process that does only what the server
// does for a question (refresh the index, build the context).
import { randomUUID } from 'node:crypto';
import { spawn } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Insertable, Kysely } from 'kysely';
import { openDatabase, type StorageKind } from '../db/open.js';
import type { Database, ProjectFilesTable } from '../db/schema.js';
import { ProjectChunkIndex } from '../server/ai/chunk-index.js';
import { buildProjectContext, CONTEXT_SHARES, fitExcerpts, rankChunks } from '../server/ai/context.js';
import { ProjectIndexes, refreshIndex } from '../server/ai/project-indexes.js';
import { defaultServerConfig } from '../server/config.js';
import { Cleanup, freshPostgresDatabase, median, memoryOf, ms, POSTGRES_ADMIN_URL, seededRandom, table, tempDir } from './lib.js';

const FILES = 2000;
const QUESTIONS = 200;
const EDITS = 10;
const UNCHANGED = 5;
const CALLERS_PER_KEY_SYMBOL = 4;
/** The large project of the memory figures (BENCH_AI_LARGE_FILES for a smaller check). */
const LARGE_FILES = Number(process.env.BENCH_AI_LARGE_FILES) || 40_000;

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

interface SourceFile {
  fileId: string;
  path: string;
  content: string;
}

interface Project {
  files: SourceFile[];
  questions: { named: string; described: string; path: string; symbol: string }[];
}

/** A file defining `own` and calling `imported`, drawn from `random`. */
function sourceText(own: Symbol[], imported: Symbol[], paths: string[], random: () => number): string {
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  const lines: string[] = [];
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
  return lines.join('\n');
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

  const files = byFile.map((own, f): SourceFile => {
    const imported = calls[f]!.filter((s) => s.file !== f);
    return { fileId: `f${f}`, path: paths[f]!, content: sourceText(own, imported, paths, random) };
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

async function selectedPaths(index: ProjectChunkIndex, contents: Map<string, string>, question: string, budget: number): Promise<string[]> {
  const fitted = fitExcerpts(await rankChunks(index, question, null), (fileId) => contents.get(fileId), budget);
  return [...new Set(fitted.excerpts.map((e) => e.path))];
}

const percent = (hits: number, total: number) => `${((100 * hits) / total).toFixed(1)}% (${hits}/${total})`;
const mib = (value: number) => `${value.toFixed(0)} MiB`;

interface Storage {
  kind: StorageKind;
  label: string;
  url?: string;
  /** PGlite's folder. */
  dataDir: string;
}

async function createStorage(cleanup: Cleanup, kind: StorageKind): Promise<Storage | null> {
  const dir = await tempDir(cleanup, `ai-ranking-${kind}`);
  if (kind === 'pglite') return { kind, label: 'PGlite', dataDir: join(dir, 'pglite') };
  const url = await freshPostgresDatabase(cleanup);
  return url ? { kind, label: 'PostgreSQL', url, dataDir: dir } : null;
}

const openStorage = (storage: Storage) => openDatabase({ url: storage.url, dataDir: storage.dataDir });

/** A project with these files in project_files, as the materializer would have written them. */
async function seedProject(db: Kysely<Database>, files: Iterable<SourceFile>): Promise<string> {
  const userId = randomUUID();
  const projectId = randomUUID();
  await db.insertInto('users').values({ id: userId, username: 'bench' }).execute();
  await db.insertInto('projects').values({ id: projectId, owner_id: userId, name: 'ranking', visibility: 'private' }).execute();
  let rows: Insertable<ProjectFilesTable>[] = [];
  const flush = async () => {
    if (rows.length > 0) await db.insertInto('project_files').values(rows).execute();
    rows = [];
  };
  for (const f of files) {
    rows.push({ project_id: projectId, file_id: f.fileId, path: f.path, kind: 'text', mode: 0o644, size: Buffer.byteLength(f.content), sha256: null, target: null, content: f.content, updated_by: null });
    if (rows.length >= 500) await flush();
  }
  await flush();
  return projectId;
}

interface RankingFigures {
  namedHits: number;
  namedFirst: number;
  describedHits: number;
  selectedMedian: number;
  queryMs: number;
  coldMs: number;
  chunks: number;
  unchangedMs: number;
  oneEditMs: number;
}

/** Recall and query time over the project's questions. */
async function measureRecall(index: ProjectChunkIndex, project: Project, budget: number) {
  const contents = new Map(project.files.map((f) => [f.fileId, f.content]));
  const queryTimes: number[] = [];
  const selectedCounts: number[] = [];
  let namedHits = 0;
  let namedFirst = 0;
  let describedHits = 0;
  for (const question of project.questions) {
    const started = performance.now();
    const selected = await selectedPaths(index, contents, question.named, budget);
    queryTimes.push(performance.now() - started);
    selectedCounts.push(selected.length);
    if (selected.includes(question.path)) namedHits++;
    if (selected[0] === question.path) namedFirst++;
    if ((await selectedPaths(index, contents, question.described, budget)).includes(question.path)) describedHits++;
  }
  return { namedHits, namedFirst, describedHits, selectedMedian: median(selectedCounts), queryMs: median(queryTimes) };
}

/** The first question (every file chunked), later ones with nothing changed and after one edit, and recall. */
async function measureRanking(storage: Storage, project: Project, budget: number): Promise<RankingFigures> {
  const { db } = await openStorage(storage);
  try {
    const projectId = await seedProject(db, project.files);
    const cold = await refreshIndex(db, projectId);
    if (cold.indexed !== project.files.length) throw new Error(`expected ${project.files.length} indexed files, got ${cold.indexed}`);
    const unchanged: number[] = [];
    for (let i = 0; i < UNCHANGED; i++) unchanged.push((await refreshIndex(db, projectId)).ms);
    const index = new ProjectChunkIndex(db, projectId);
    const recall = await measureRecall(index, project, budget);
    const oneEdit: number[] = [];
    for (let i = 0; i < EDITS; i++) {
      const file = project.files[(i * 53) % project.files.length]!;
      await db
        .updateTable('project_files')
        .set({ content: `${file.content}\n// db edit ${i}: retune the ${NOUNS[i % NOUNS.length]} limits\n`, updated_at: new Date(Date.now() + i + 1) })
        .where('project_id', '=', projectId)
        .where('file_id', '=', file.fileId)
        .execute();
      const report = await refreshIndex(db, projectId);
      if (report.indexed !== 1) throw new Error(`expected one re-indexed file, got ${report.indexed}`);
      oneEdit.push(report.ms);
    }
    const { chunks } = await index.counts();
    return { ...recall, coldMs: cold.ms, chunks, unchangedMs: median(unchanged), oneEditMs: median(oneEdit) };
  } finally {
    await db.destroy();
  }
}

/** 40,000 small files (a few hundred bytes to 2 KB): a module or two of short functions each. */
function* largeProject(count: number): Generator<SourceFile> {
  const random = seededRandom(20261203);
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  for (let f = 0; f < count; f++) {
    const lines: string[] = [];
    const functions = 1 + Math.floor(random() * 3);
    for (let n = 0; n < functions; n++) {
      lines.push(`/** ${capital(pick(VERBS))}s the ${pick(QUALIFIERS)} ${pick(NOUNS)}. */`);
      lines.push(`export function ${pick(VERBS)}${capital(pick(QUALIFIERS))}${capital(pick(NOUNS))}${f}x${n}(${pick(WORDS)}: number) {`);
      const body = 2 + Math.floor(random() * 10);
      for (let i = 0; i < body; i++) lines.push(`  const ${pick(WORDS)}${i} = ${pick(WORDS)} + ${Math.floor(random() * 1000)}; // ${pick(NOUNS)} ${pick(QUALIFIERS)}`);
      lines.push(`  return ${pick(WORDS)};`, '}', '');
    }
    yield { fileId: `l${f}`, path: `src/${pick(NOUNS)}s/${pick(QUALIFIERS)}/${pick(NOUNS)}-${f}.ts`, content: lines.join('\n') };
  }
}

interface MemoryFigures {
  beforeMiB: number;
  afterFirstMiB: number;
  afterSecondMiB: number;
  peakMiB: number;
  firstMs: number;
  secondMs: number;
  chunks: number;
}

const PROBE_FLAG = '--memory-probe';

/** A process of its own does what the server does for two questions; its memory is read before and after. */
async function measureMemory(cleanup: Cleanup, storage: Storage): Promise<MemoryFigures> {
  const { db } = await openStorage(storage);
  let projectId: string;
  try {
    projectId = await seedProject(db, largeProject(LARGE_FILES));
  } finally {
    // PGlite is one process's: the probe opens the folder after this one let go of it.
    await db.destroy();
  }
  const child = spawn(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), PROBE_FLAG, JSON.stringify({ storage, projectId })], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  cleanup.add('stop the memory probe', () => child.kill());
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`the memory probe exited ${code}: ${stdout}`);
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as MemoryFigures;
}

/** The probe: the server's steps for a question, without HTTP or a model. */
async function memoryProbe(argument: string): Promise<MemoryFigures> {
  const { storage, projectId } = JSON.parse(argument) as { storage: Storage; projectId: string };
  const { db } = await openStorage(storage);
  const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
  const rss = async () => {
    gc();
    return (await memoryOf(process.pid)).rssMiB;
  };
  try {
    const indexes = new ProjectIndexes(db);
    const ask = async (question: string) => {
      const started = performance.now();
      const { index } = await indexes.current(projectId);
      await buildProjectContext(db, index, { projectId, projectName: 'bench/large', question, contextTokens: defaultServerConfig().ai.contextTokens });
      return performance.now() - started;
    };
    // Opened and warmed up: a query run, so the figure before counts the server as it idles.
    await db.selectFrom('project_files').select('file_id').where('project_id', '=', projectId).limit(1).execute();
    const beforeMiB = await rss();
    const firstMs = await ask(`How does ${VERBS[0]}${capital(QUALIFIERS[0]!)}${capital(NOUNS[0]!)} handle errors?`);
    const afterFirstMiB = await rss();
    const secondMs = await ask('Where do we compact the stale ledger?');
    const afterSecondMiB = await rss();
    const { chunks } = await new ProjectChunkIndex(db, projectId).counts();
    return { beforeMiB, afterFirstMiB, afterSecondMiB, peakMiB: (await memoryOf(process.pid)).peakMiB, firstMs, secondMs, chunks };
  } finally {
    await db.destroy();
  }
}

function rankingRows(label: string, figures: RankingFigures, total: number): string[][] {
  return [
    [`${label}: recall, defining file among the excerpts (question names the function)`, percent(figures.namedHits, total)],
    [`${label}: defining file is the first excerpt`, percent(figures.namedFirst, total)],
    [`${label}: recall when the question describes it in words ("how do we parse the pending invoice?")`, percent(figures.describedHits, total)],
    [`${label}: files among the excerpts (median)`, String(figures.selectedMedian)],
    [`${label}: first question, every file read and chunked into the database`, ms(figures.coldMs)],
    [`${label}: each later question, nothing changed: version check (median of ${UNCHANGED})`, ms(figures.unchangedMs)],
    [`${label}: each later question after one file was edited (median of ${EDITS})`, ms(figures.oneEditMs)],
    [`${label}: query, rank in SQL + fit excerpts (median of ${total})`, ms(figures.queryMs)],
  ];
}

function memoryRows(label: string, figures: MemoryFigures): string[][] {
  return [
    [`${label}: RSS before the first question`, mib(figures.beforeMiB)],
    [`${label}: RSS after the first question (${figures.chunks.toLocaleString('en')} chunks written), and its time`, `${mib(figures.afterFirstMiB)}, ${ms(figures.firstMs)}`],
    [`${label}: RSS after a second question (nothing changed), and its time`, `${mib(figures.afterSecondMiB)}, ${ms(figures.secondMs)}`],
    [`${label}: peak RSS of the process`, mib(figures.peakMiB)],
  ];
}

export async function runAiRanking(): Promise<string> {
  const cleanup = new Cleanup();
  try {
    const project = generateProject();
    const totalLines = project.files.reduce((n, f) => n + f.content.split('\n').length, 0);
    const budget = excerptBudgetChars();
    const load = loadavg()[0]!.toFixed(1);
    const ranking: string[][] = [];
    const memory: string[][] = [];
    let chunks = 0;
    for (const kind of ['pglite', 'postgres'] as const) {
      const storage = await createStorage(cleanup, kind);
      if (!storage) {
        ranking.push([`${kind}: not measured`, `no PostgreSQL at ${POSTGRES_ADMIN_URL} (BENCH_POSTGRES_URL)`]);
        continue;
      }
      const figures = await measureRanking(storage, project, budget);
      chunks = figures.chunks;
      ranking.push(...rankingRows(storage.label, figures, project.questions.length));
      const large = await createStorage(cleanup, kind);
      if (large) memory.push(...memoryRows(storage.label, await measureMemory(cleanup, large)));
    }
    const total = project.questions.length;
    // The runner (bench/run.ts) adds the heading.
    return [
      `How well \`codeshare ask\` finds the code a question is about. A generated project of ${FILES.toLocaleString('en')} TypeScript files (${totalLines.toLocaleString('en')} lines, ${chunks.toLocaleString('en')} chunks);`,
      `${total} questions, each naming a function defined in exactly one file and called from ${CALLERS_PER_KEY_SYMBOL} others.`,
      `A question counts as found when the defining file is among the excerpts the server would send (ranking in SQL and fitting`,
      `as in server/ai/context.ts, ${Math.round(budget).toLocaleString('en')} characters for excerpts of a ${defaultServerConfig().ai.contextTokens}-token context).`,
      `The index lives in the database (file_chunks); each storage is a fresh database.`,
      `Times are wall clock on this machine (load average ${load} on ${cpus().length} cores when the run started).`,
      '',
      table(['measure', 'result'], ranking),
      '',
      `Server-side memory of \`ask\` on a generated project of ${LARGE_FILES.toLocaleString('en')} small files: a process of its own opens the storage and does what`,
      'the server does for a question (bring the index up to date, rank, build the context); VmRSS after a garbage collection.',
      'With PGlite the database runs inside that process, so its cache and working memory count; with PostgreSQL they are the database server\'s.',
      '',
      table(['measure', 'result'], memory),
      '',
    ].join('\n');
  } finally {
    await cleanup.runAll();
  }
}

export default { name: 'AI context ranking (codeshare ask)', run: runAiRanking };

// Standalone: `node dist/bench/ai-ranking.js` prints the section; with --memory-probe it is
// the process measureMemory reads.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv[2] === PROBE_FLAG) process.stdout.write(`${JSON.stringify(await memoryProbe(process.argv[3] ?? '{}'))}\n`);
  else process.stdout.write(`${await runAiRanking()}\n`);
}
