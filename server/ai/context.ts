// What the model is shown with a question: chosen, not dumped. Within a budget of tokens
// (estimated as characters / 4) it gets the asker's current file, the chunks of files that rank
// best for the question, and, in small fixed shares, the file tree, recent activity and the git
// state. Whatever a fixed share does not use goes to the ranked chunks.
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.js';
import { listFileActivity } from '../repos/activity.js';
import { countProjectFiles, findFileTextByPath, listFilePaths, readFileContents } from '../repos/files.js';
import { findGitRepository, listGitCommits } from '../repos/git.js';
import { lineCount as countLines, sliceLines, type ChunkHit, type LineRange, type ProjectChunkIndex } from './chunk-index.js';

export const CHARS_PER_TOKEN = 4;
export const estimateTokens = (text: string) => Math.ceil(text.length / CHARS_PER_TOKEN);

/** Most of the budget each section may take; the rest, and whatever they leave, is for the ranked chunks. */
export const CONTEXT_SHARES = { tree: 0.1, activity: 0.05, git: 0.05, currentFile: 0.3 } as const;
const SHARES = CONTEXT_SHARES;
const CANDIDATE_CHUNKS = 40;
const CHUNKS_PER_FILE = 3;
const TREE_PATHS_READ = 5000;
const ACTIVITY_ENTRIES = 15;
const GIT_COMMITS = 8;
/** A ranked chunk cut to fit is worth it only if this much of it fits. */
const MIN_PARTIAL_CHARS = 400;

export interface ContextRequest {
  projectId: string;
  projectName: string;
  question: string;
  currentFile?: string | null | undefined;
  contextTokens: number;
}

export interface ProjectContext {
  /** The context as text, in sections. */
  text: string;
  /** Paths of the files whose content is in the context: the current file first, then by rank. */
  files: string[];
  /** The excerpts, for tests and the benchmark: which chunks were selected. */
  excerpts: { path: string; startLine: number; endLine: number }[];
  tokens: number;
}

/** Cuts a text to at most `maxChars`, at a line end where possible, saying that it did. */
export function truncate(text: string, maxChars: number, what = 'more'): string {
  if (text.length <= maxChars) return text;
  const marker = `\n… (${what} cut)`;
  const room = Math.max(0, maxChars - marker.length);
  const cut = text.lastIndexOf('\n', room);
  return text.slice(0, cut > room / 2 ? cut : room) + marker;
}

function section(title: string, body: string): string {
  return `## ${title}\n${body}\n`;
}

async function treeSection(db: Kysely<Database>, projectId: string, maxChars: number): Promise<string> {
  const paths = await listFilePaths(db, projectId, TREE_PATHS_READ + 1);
  const count = await countProjectFiles(db, projectId);
  if (count === 0) return section('Files', '(the project has no files yet)');
  const lines: string[] = [];
  let used = 0;
  for (const path of paths) {
    if (used + path.length + 1 > maxChars - 40) break;
    lines.push(path);
    used += path.length + 1;
  }
  if (lines.length < count) lines.push(`… and ${count - lines.length} more files`);
  return section(`Files (${count})`, lines.join('\n'));
}

async function activitySection(db: Kysely<Database>, projectId: string, maxChars: number): Promise<string> {
  const { items } = await listFileActivity(db, projectId, { limit: ACTIVITY_ENTRIES });
  if (items.length === 0) return '';
  const lines = items.map((a) => {
    const change = a.action === 'renamed' ? `renamed ${a.oldPath ?? '?'} → ${a.path}` : `${a.action} ${a.path}`;
    const size = a.action === 'edited' || a.action === 'created' ? ` (+${a.linesAdded} -${a.linesRemoved})` : '';
    return `${a.createdAt.slice(0, 16).replace('T', ' ')} ${a.user ?? 'someone'} ${change}${size}`;
  });
  return section('Recent changes (newest first)', truncate(lines.join('\n'), maxChars));
}

async function gitSection(db: Kysely<Database>, projectId: string, maxChars: number): Promise<string> {
  const repo = await findGitRepository(db, projectId);
  const { items } = await listGitCommits(db, projectId, { limit: GIT_COMMITS });
  if (!repo && items.length === 0) return '';
  const lines: string[] = [];
  if (repo) {
    lines.push(`branch: ${repo.default_branch ?? 'unknown'}${repo.head_sha ? ` at ${repo.head_sha.slice(0, 10)}` : ''}`);
    if (repo.remote_url) lines.push(`remote: ${repo.remote_url}`);
  }
  for (const c of items) {
    lines.push(`${c.sha.slice(0, 10)} ${c.committedAt.slice(0, 10)} ${c.authorName}: ${c.message.split('\n', 1)[0] ?? ''}`);
  }
  return section('Git', truncate(lines.join('\n'), maxChars));
}

const excerptTitle = (path: string, range: LineRange) => `### ${path} (lines ${range.startLine}-${range.endLine})`;

/** Joins overlapping or touching ranges of one file. */
function mergeRanges(ranges: LineRange[]): LineRange[] {
  const sorted = [...ranges].sort((a, b) => a.startLine - b.startLine);
  const merged: LineRange[] = [];
  for (const range of sorted) {
    const last = merged[merged.length - 1];
    if (last && range.startLine <= last.endLine + 1) last.endLine = Math.max(last.endLine, range.endLine);
    else merged.push({ ...range });
  }
  return merged;
}

/**
 * The chunks to show for a question, best first: at most CHUNKS_PER_FILE per file, so one
 * long file cannot take the whole budget. The benchmark measures exactly this.
 */
export function rankChunks(index: ProjectChunkIndex, question: string, currentFileId: string | null): Promise<ChunkHit[]> {
  return index.query(question, { limit: CANDIDATE_CHUNKS, perFile: CHUNKS_PER_FILE, boostFileId: currentFileId });
}

/**
 * Fits ranked chunks into `budgetChars`, best first; chunks of a file already shown are merged
 * with it. `contentOf` gives a file's text (from project_files, or memory in the benchmark).
 */
export function fitExcerpts(
  hits: ChunkHit[],
  contentOf: (fileId: string) => string | undefined,
  budgetChars: number,
): { text: string; excerpts: { fileId: string; path: string; startLine: number; endLine: number }[] } {
  const parts: string[] = [];
  const excerpts: { fileId: string; path: string; startLine: number; endLine: number }[] = [];
  const shown = new Map<string, LineRange[]>();
  let used = 0;
  for (const hit of hits) {
    const content = contentOf(hit.fileId);
    if (content === undefined) continue;
    const ranges = shown.get(hit.fileId) ?? [];
    // Only the lines this chunk adds beyond what an earlier chunk of the file already shows.
    let range: LineRange = { startLine: hit.startLine, endLine: hit.endLine };
    for (const seen of ranges) {
      if (range.startLine >= seen.startLine && range.startLine <= seen.endLine) range = { ...range, startLine: seen.endLine + 1 };
      if (range.endLine >= seen.startLine && range.endLine <= seen.endLine) range = { ...range, endLine: seen.startLine - 1 };
    }
    if (range.endLine < range.startLine) continue;
    const title = excerptTitle(hit.path, range);
    let body = sliceLines(content, range);
    const room = budgetChars - used - title.length - 2;
    if (room < MIN_PARTIAL_CHARS && body.length > room) continue;
    if (body.length > room) {
      body = truncate(body, room, 'rest of the excerpt');
      const kept = body.split('\n').length - 1;
      range = { ...range, endLine: range.startLine + Math.max(0, kept - 1) };
    }
    parts.push(`${excerptTitle(hit.path, range)}\n${body}`);
    used += title.length + body.length + 2;
    ranges.push(range);
    shown.set(hit.fileId, mergeRanges(ranges));
    excerpts.push({ fileId: hit.fileId, path: hit.path, ...range });
  }
  return { text: parts.join('\n\n'), excerpts };
}

async function currentFileSection(
  db: Kysely<Database>,
  index: ProjectChunkIndex,
  request: ContextRequest,
  maxChars: number,
): Promise<{ text: string; fileId: string | null; shown: LineRange[] }> {
  const path = request.currentFile;
  if (!path) return { text: '', fileId: null, shown: [] };
  const file = await findFileTextByPath(db, request.projectId, path);
  if (!file) return { text: section('The asker\'s current file', `${path} (not in the project)`), fileId: null, shown: [] };
  if (file.kind !== 'text' || file.content === null) {
    return { text: section('The asker\'s current file', `${path} (${file.kind}, no text to show)`), fileId: file.file_id, shown: [] };
  }
  const content = file.content;
  const lineCount = countLines(content);
  if (content.length <= maxChars - path.length - 40) {
    const range = { startLine: 1, endLine: lineCount };
    return { text: section('The asker\'s current file', `${excerptTitle(path, range)}\n${content}`), fileId: file.file_id, shown: [range] };
  }
  // Too long to show whole: the parts of it that bear on the question, else its beginning.
  const hits = await index.query(request.question, { limit: CHUNKS_PER_FILE, fileId: file.file_id });
  const fitted = fitExcerpts(
    hits.length > 0 ? hits : [{ fileId: file.file_id, path, startLine: 1, endLine: lineCount, score: 0 }],
    () => content,
    maxChars,
  );
  return { text: section('The asker\'s current file (excerpts)', fitted.text), fileId: file.file_id, shown: fitted.excerpts };
}

export async function buildProjectContext(
  db: Kysely<Database>,
  index: ProjectChunkIndex,
  request: ContextRequest,
): Promise<ProjectContext> {
  const budget = request.contextTokens * CHARS_PER_TOKEN;
  const [tree, activity, git, current] = await Promise.all([
    treeSection(db, request.projectId, budget * SHARES.tree),
    activitySection(db, request.projectId, budget * SHARES.activity),
    gitSection(db, request.projectId, budget * SHARES.git),
    currentFileSection(db, index, request, budget * SHARES.currentFile),
  ]);
  const header = `Project: ${request.projectName}\n`;
  const fixed = header.length + tree.length + activity.length + git.length + current.text.length;

  const hits = (await rankChunks(index, request.question, current.fileId)).filter(
    (hit) => hit.fileId !== current.fileId || !current.shown.some((r) => hit.startLine >= r.startLine && hit.endLine <= r.endLine),
  );
  const hitFileIds = [...new Set(hits.map((hit) => hit.fileId))];
  const contents = new Map<string, string>();
  for (const row of await readFileContents(db, request.projectId, hitFileIds)) {
    if (row.content !== null) contents.set(row.file_id, row.content);
  }
  const excerptsTitle = '## Excerpts of files that match the question (best first)\n';
  const fitted = fitExcerpts(hits, (fileId) => contents.get(fileId), budget - fixed - excerptsTitle.length - 1);
  const excerpts = fitted.excerpts.length > 0 ? `${excerptsTitle}${fitted.text}\n` : '';

  const text = [header, current.text, excerpts, tree, activity, git].filter((part) => part !== '').join('\n');
  const files = [...new Set([...(current.shown.length > 0 && request.currentFile ? [request.currentFile] : []), ...fitted.excerpts.map((e) => e.path)])];
  return {
    text,
    files,
    excerpts: fitted.excerpts.map(({ path, startLine, endLine }) => ({ path, startLine, endLine })),
    tokens: estimateTokens(text),
  };
}
