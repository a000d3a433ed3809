// The chunk index of one project: its text files in chunks of lines, so a question selects the
// parts of files that matter rather than whole files. The chunks and their terms live in
// PostgreSQL (file_chunks, a weighted tsvector each, ranked by ts_rank), never in server
// memory; the text stays in project_files. This module holds the rules (which files, where a
// chunk ends, which terms) and the handle a question searches through.
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.js';
import { countChunks, searchChunks } from './chunk-store.js';
import { definedLexemes, definedNames, lexemesOf, queryGroups } from './terms.js';

/** Lines per chunk, and how many of them the next chunk repeats so a function cut in two is whole in one. */
export const CHUNK_LINES = 60;
export const CHUNK_OVERLAP = 12;
/** A chunk also ends at this many characters (long lines: data, generated code). */
export const CHUNK_MAX_CHARS = 6000;
/** Files past this size, or of very long lines, are generated or data: indexing them only adds noise. */
export const MAX_INDEXED_BYTES = 512 * 1024;
const MAX_AVERAGE_LINE_LENGTH = 400;
const UNINDEXED_PATH = /(^|\/)(package-lock\.json|yarn\.lock|pnpm-lock\.yaml|Cargo\.lock|go\.sum|poetry\.lock|composer\.lock)$|\.(min\.js|min\.css|map|lock|svg)$/i;

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

/** A chunk as the index stores it: its lines, and its terms as lexemes by field. */
export interface ChunkDocument extends LineRange {
  /** The names the chunk defines: where a name is defined outranks where it is only used. */
  defines: string;
  path: string;
  text: string;
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
  /** At most this many chunks of one file. */
  perFile?: number;
}

/** The chunks of a file as the index stores them (of a file unindexedReason lets in). */
export function chunkDocuments(path: string, content: string): ChunkDocument[] {
  const lines = content.split('\n');
  const pathLexemes = lexemesOf(path);
  return chunkRanges(content).map((range) => {
    const text = lines.slice(range.startLine - 1, range.endLine).join('\n');
    return { ...range, defines: definedLexemes(definedNames(text)), path: pathLexemes, text: lexemesOf(text) };
  });
}

/** Searches one project's chunks in the database; refreshIndex (project-indexes.ts) keeps them current. */
export class ProjectChunkIndex {
  constructor(
    private readonly db: Kysely<Database>,
    readonly projectId: string,
  ) {}

  /** The chunks that best match the text, best first. */
  query(text: string, options: SearchOptions): Promise<ChunkHit[]> {
    return searchChunks(this.db, this.projectId, queryGroups(text), options);
  }

  /** How many files and chunks the index holds for the project. */
  counts(): Promise<{ files: number; chunks: number }> {
    return countChunks(this.db, this.projectId);
  }
}
