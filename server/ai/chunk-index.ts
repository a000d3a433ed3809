// A full-text index over one project's text files, in chunks of lines, so a question selects
// the parts of files that matter rather than whole files. BM25 (MiniSearch) ranks the chunks;
// the index keeps only terms and line ranges, never the text, which stays in project_files.
import MiniSearch, { type SearchResult } from 'minisearch';
import { compoundTerms, definedNames, identifierParts, processTerm, tokenize } from './terms.js';

/** Lines per chunk, and how many of them the next chunk repeats so a function cut in two is whole in one. */
export const CHUNK_LINES = 60;
export const CHUNK_OVERLAP = 12;
/** A chunk also ends at this many characters (long lines: data, generated code). */
export const CHUNK_MAX_CHARS = 6000;
/** Files past this size, or of very long lines, are generated or data: indexing them only adds noise. */
export const MAX_INDEXED_BYTES = 512 * 1024;
const MAX_AVERAGE_LINE_LENGTH = 400;
const UNINDEXED_PATH = /(^|\/)(package-lock\.json|yarn\.lock|pnpm-lock\.yaml|Cargo\.lock|go\.sum|poetry\.lock|composer\.lock)$|\.(min\.js|min\.css|map|lock|svg)$/i;

export interface IndexedFile {
  fileId: string;
  path: string;
  content: string;
  /** Changes whenever the file does (path, hash, time): the index re-reads a file whose version moved. */
  version: string;
}

export interface LineRange {
  /** 1-based, inclusive. */
  startLine: number;
  endLine: number;
}

export interface ChunkHit extends LineRange {
  fileId: string;
  path: string;
  score: number;
}

interface ChunkDocument {
  id: string;
  fileId: string;
  path: string;
  startLine: number;
  endLine: number;
  text: string;
  /** The names the chunk defines: where a name is defined outranks where it is only used. */
  defines: string;
}

interface FileEntry {
  version: string;
  path: string;
  chunkIds: string[];
}

/** Why a file is left out of the index, or null when it is indexed. */
export function unindexedReason(path: string, content: string): string | null {
  if (UNINDEXED_PATH.test(path)) return 'lock file, map or minified';
  if (content.length > MAX_INDEXED_BYTES) return 'too large';
  const lines = content.length === 0 ? 1 : content.split('\n', 20_000).length;
  if (content.length / lines > MAX_AVERAGE_LINE_LENGTH) return 'very long lines';
  return null;
}

/** The line ranges of a text's chunks, overlapping by CHUNK_OVERLAP lines. */
export function chunkRanges(content: string): LineRange[] {
  const lines = content.split('\n');
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  const ranges: LineRange[] = [];
  let start = 0;
  while (start < lines.length) {
    let end = start;
    let chars = 0;
    while (end < lines.length && end - start < CHUNK_LINES && (end === start || chars + (lines[end]?.length ?? 0) <= CHUNK_MAX_CHARS)) {
      chars += (lines[end]?.length ?? 0) + 1;
      end++;
    }
    ranges.push({ startLine: start + 1, endLine: end });
    if (end >= lines.length) break;
    const overlap = Math.min(CHUNK_OVERLAP, Math.floor((end - start) / 4));
    start = Math.max(start + 1, end - overlap);
  }
  return ranges;
}

/** Lines of a text as an editor numbers them: a final newline ends the last line, it starts none. */
export function lineCount(content: string): number {
  const lines = content.split('\n').length;
  return lines > 1 && content.endsWith('\n') ? lines - 1 : lines;
}

/** Lines startLine..endLine (1-based, inclusive) of a text. */
export function sliceLines(content: string, range: LineRange): string {
  return content.split('\n').slice(range.startLine - 1, range.endLine).join('\n');
}

export interface SearchOptions {
  limit: number;
  /** Only chunks of this file. */
  fileId?: string;
  /** Multiplies the score of this file's chunks (the asker's current file). */
  boostFileId?: string | null;
}

export class ProjectChunkIndex {
  private readonly search = new MiniSearch<ChunkDocument>({
    fields: ['path', 'text', 'defines'],
    storeFields: ['fileId', 'path', 'startLine', 'endLine'],
    tokenize,
    processTerm,
  });
  private readonly files = new Map<string, FileEntry>();

  get fileCount(): number {
    return this.files.size;
  }

  get chunkCount(): number {
    return this.search.documentCount;
  }

  /** Indexed files and their versions, to see which changed since. */
  versions(): ReadonlyMap<string, string> {
    return new Map([...this.files].map(([fileId, entry]) => [fileId, entry.version]));
  }

  /** Adds a file, or replaces what the index held for it. Returns how many chunks it now has. */
  upsert(file: IndexedFile): number {
    this.remove(file.fileId);
    const chunkIds: string[] = [];
    if (unindexedReason(file.path, file.content) === null) {
      const lines = file.content.split('\n');
      const documents = chunkRanges(file.content).map((range): ChunkDocument => {
        const id = `${file.fileId}:${range.startLine}`;
        chunkIds.push(id);
        const text = lines.slice(range.startLine - 1, range.endLine).join('\n');
        return { id, fileId: file.fileId, path: file.path, ...range, text, defines: definedNames(text).join(' ') };
      });
      this.search.addAll(documents);
    }
    // A file left out is still recorded with its version, so it is not re-read on every question.
    this.files.set(file.fileId, { version: file.version, path: file.path, chunkIds });
    return chunkIds.length;
  }

  remove(fileId: string): void {
    const entry = this.files.get(fileId);
    if (!entry) return;
    for (const id of entry.chunkIds) this.search.discard(id);
    this.files.delete(fileId);
  }

  /** The chunks that best match the text, best first. */
  query(text: string, options: SearchOptions): ChunkHit[] {
    const { fileId, boostFileId } = options;
    // An identifier the question names (retryWithBackoff) is matched whole, and weighs more than
    // its words; its words are not widened to every name that starts with them.
    const compounds = compoundTerms(text);
    const parts = new Set<string>();
    for (const token of tokenize(text)) if (identifierParts(token).length > 1) for (const term of processTerm(token) ?? []) parts.add(term);
    const results = this.search.search(text, {
      // A file's name says a lot about what it holds; a definition more than a use.
      boost: { path: 2, text: 1, defines: 3 },
      boostTerm: (term) => (compounds.has(term) ? 3 : 1),
      // "retry" finds retrying and retryable; short words would match half the index.
      prefix: (term) => term.length >= 5 && !parts.has(term),
      combineWith: 'OR',
      ...(fileId ? { filter: (result: SearchResult) => result.fileId === fileId } : {}),
      ...(boostFileId ? { boostDocument: (_id: unknown, _term: string, stored?: Record<string, unknown>) => (stored?.fileId === boostFileId ? 1.5 : 1) } : {}),
    });
    return results.slice(0, options.limit).map((result) => ({
      fileId: result.fileId as string,
      path: result.path as string,
      startLine: result.startLine as number,
      endLine: result.endLine as number,
      score: result.score,
    }));
  }
}
