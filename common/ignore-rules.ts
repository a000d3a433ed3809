// Which paths of a folder codeshare leaves alone. Four layers, in the order git would read
// them, so the last matching rule wins exactly as in `git check-ignore`:
//
//   1. base defaults a project's own .gitignore may re-include (`node_modules/`, `.idea/`);
//   2. every .gitignore in the tree, shallow to deep, each rebased onto the folder it sits in;
//   3. local-only defaults only .codeshareignore may re-include: secrets (`.env`, `.env.*`)
//      and editor droppings (swap, backup and lock files) that would otherwise sync to
//      everyone mid-edit;
//   4. `.codeshareignore` at the root.
//
// Outside the layers, nothing re-includes `.git` (any case, any depth), `.codeshare/` or the
// daemon's own temp files.
//
// Matching is case-sensitive everywhere (the `ignore` package defaults to insensitive): two
// daemons on different systems must agree on the set of files or they never converge.
import type { Dirent, Stats } from 'node:fs';
import { lstatSync } from 'node:fs';
import { lstat, readFile } from 'node:fs/promises';
import { isAbsolute, join, posix, relative, resolve, sep } from 'node:path';
import ignore, { type Ignore } from 'ignore';
import type { Logger } from 'pino';
import { TEMP_FILE_PREFIX } from './atomic-write.js';
import { isGitSegment } from './safe-path.js';
import { childPath, errnoCode, listFolders } from './fs-helpers.js';
import { comparePaths } from './paths-in-project.js';

export const GITIGNORE_FILE = '.gitignore';
export const CODESHAREIGNORE_FILE = '.codeshareignore';

/** Defaults a project's .gitignore may re-include (some teams commit parts of `.idea/`). */
export const BASE_DEFAULT_RULES: readonly string[] = ['node_modules/', '.idea/'];

/** Defaults only .codeshareignore may re-include, e.g. `!.env.example`. */
export const LOCAL_ONLY_DEFAULT_RULES: readonly string[] = [
  '.env',
  '.env.*',
  '.DS_Store',
  '*.swp',
  '*.swo',
  '*~',
  '.#*',
  '\\#*#',
  // vim writes and deletes this file to probe whether it may write into a folder.
  '4913',
  // JetBrains IDEs' safe write: the new text goes to `name___jb_tmp___`, the old one to
  // `name___jb_old___`, then both are renamed.
  '*___jb_tmp___',
  '*___jb_old___',
];

/** Never re-included: git's own folder is handled apart, see isGitSegment. */
const PERMANENT_RULES: readonly string[] = ['.codeshare/', `${TEMP_FILE_PREFIX}*`];
/** Paths tested before the `ignore` matchers (and their caches) are built afresh. */
const FRESH_AFTER_TESTS = 10_000;

export interface IgnoreRulesOptions {
  logger?: Logger;
}

/** A function of the shape chokidar's `ignored` option takes. */
export type ChokidarIgnoredMatcher = (path: string, stats?: Stats) => boolean;

export function isIgnoreRulesFile(relPath: string): boolean {
  return relPath === CODESHAREIGNORE_FILE || posix.basename(relPath) === GITIGNORE_FILE;
}

function escapeGlob(literal: string): string {
  return literal.replace(/[\\*?[\]]/g, (char) => `\\${char}`);
}

/**
 * Rewrites one gitignore line from a .gitignore in `folder` so it means the same thing when
 * read from the root. A pattern with a slash before its end is anchored to its own folder;
 * one without matches at any depth below it.
 */
export function rebaseIgnoreLine(line: string, folder: string): string | undefined {
  if (line.trim() === '' || line.startsWith('#')) return undefined;
  if (folder === '') return line;
  const negative = line.startsWith('!');
  const body = negative ? line.slice(1) : line;
  if (body.trim() === '' || body.trim() === '/') return undefined;
  const anchored = body.trimEnd().replace(/\/$/, '').includes('/');
  const rebased = anchored ? `${escapeGlob(folder)}/${body.replace(/^\//, '')}` : `${escapeGlob(folder)}/**/${body}`;
  return negative ? `!${rebased}` : rebased;
}

function splitLines(content: string): string[] {
  return content.split(/\r?\n/);
}

function folderDepth(folder: string): number {
  return folder === '' ? 0 : folder.split('/').length;
}

export class IgnoreRules {
  readonly root: string;
  private readonly logger: Logger | undefined;
  /** Content of each .gitignore, by the folder it sits in ('' for the root). */
  private readonly gitignores = new Map<string, string>();
  private codeshareignore: string | undefined;
  private permanent: Ignore = ignore({ ignorecase: false }).add([...PERMANENT_RULES]);
  private layered: Ignore = ignore({ ignorecase: false });
  /** The rules of `layered`, to build it afresh (see ignores). */
  private layeredLines: string[] = [];
  private testsSinceFresh = 0;
  /** Reloads run one at a time, so two quick edits of a rules file cannot interleave. */
  private reloadQueue: Promise<unknown> = Promise.resolve();

  private constructor(root: string, options: IgnoreRulesOptions) {
    this.root = resolve(root);
    this.logger = options.logger;
  }

  /** Reads `.codeshareignore` and every .gitignore in folders that are not themselves ignored. */
  static async load(root: string, options: IgnoreRulesOptions = {}): Promise<IgnoreRules> {
    const rules = new IgnoreRules(root, options);
    rules.codeshareignore = await rules.readRulesFile(CODESHAREIGNORE_FILE);
    rules.rebuild();
    await rules.discoverGitignores();
    return rules;
  }

  /** Whether a POSIX path relative to the root is ignored. Paths under an ignored folder are. */
  ignores(relPath: string, isDir: boolean): boolean {
    if (relPath === '') return false;
    if (relPath.split('/').some(isGitSegment)) return true;
    const tested = isDir ? `${relPath}/` : relPath;
    // `ignore` caches every path it was asked about (and each parent), for good: a rescan of a
    // 40,000-file folder left ~80,000 entries in each of the two. Built afresh now and then,
    // the caches keep what a walk reuses (the parents of its next paths) and no more.
    if (++this.testsSinceFresh > FRESH_AFTER_TESTS) {
      this.testsSinceFresh = 0;
      this.permanent = ignore({ ignorecase: false }).add([...PERMANENT_RULES]);
      this.layered = ignore({ ignorecase: false }).add(this.layeredLines);
    }
    return this.permanent.ignores(tested) || this.layered.ignores(tested);
  }

  /**
   * Re-reads one rules file after the watcher saw it change, appear or disappear, then looks
   * for .gitignore files in folders the change may have un-ignored. Resolves to whether the
   * rules changed (the caller should then rescan), false for a path that is not a rules file.
   */
  reloadFile(relPath: string): Promise<boolean> {
    const run = this.reloadQueue.then(() => this.reloadFileNow(relPath));
    this.reloadQueue = run.catch(() => undefined);
    return run;
  }

  /** For chokidar's `ignored` option; takes absolute or cwd-relative paths as chokidar gives them. */
  readonly chokidarIgnored: ChokidarIgnoredMatcher = (path, stats) => {
    const rel = relative(this.root, resolve(path));
    if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return false;
    const relPosix = sep === '/' ? rel : rel.split(sep).join('/');
    if (stats) return this.ignores(relPosix, stats.isDirectory());
    // chokidar asks once without stats before it has looked; a folder-only rule (`build/`)
    // must not hide a file called `build`, so look when it matters.
    if (this.ignores(relPosix, false)) return true;
    if (!this.ignores(relPosix, true)) return false;
    try {
      return lstatSync(path).isDirectory();
    } catch {
      return false;
    }
  };

  private async reloadFileNow(relPath: string): Promise<boolean> {
    if (!isIgnoreRulesFile(relPath)) return false;
    const content = await this.readRulesFile(relPath);
    if (relPath === CODESHAREIGNORE_FILE) {
      if (content === this.codeshareignore) return false;
      this.codeshareignore = content;
    } else {
      const folder = posix.dirname(relPath) === '.' ? '' : posix.dirname(relPath);
      if (content === this.gitignores.get(folder)) return false;
      if (content === undefined) this.gitignores.delete(folder);
      else this.gitignores.set(folder, content);
    }
    this.rebuild();
    await this.discoverGitignores();
    this.logger?.debug({ path: relPath }, 'ignore rules reloaded');
    return true;
  }

  private rebuild(): void {
    const lines: string[] = [...BASE_DEFAULT_RULES];
    const folders = [...this.gitignores.keys()].sort((a, b) => folderDepth(a) - folderDepth(b) || comparePaths(a, b));
    for (const folder of folders) {
      for (const line of splitLines(this.gitignores.get(folder) ?? '')) {
        const rebased = rebaseIgnoreLine(line, folder);
        if (rebased !== undefined) lines.push(rebased);
      }
    }
    lines.push(...LOCAL_ONLY_DEFAULT_RULES);
    if (this.codeshareignore !== undefined) lines.push(...splitLines(this.codeshareignore));
    this.layeredLines = lines;
    this.layered = ignore({ ignorecase: false }).add(lines);
  }

  /**
   * Walks the folders that are not ignored, one depth at a time, reading .gitignore files not
   * seen yet. A folder's own .gitignore never decides whether that folder is ignored, so the
   * rules rebuilt after each depth are complete for the next one. A depth's folders are listed
   * together (listFolders).
   */
  private async discoverGitignores(): Promise<void> {
    let level: string[] = [''];
    while (level.length > 0) {
      const listed = (await listFolders(this.root, level)).map((entries, i) => this.foldersAndRules(level[i]!, entries));
      let found = false;
      for (const [i, folder] of level.entries()) {
        if (!listed[i]!.hasGitignore || this.gitignores.has(folder)) continue;
        const content = await this.readRulesFile(folder === '' ? GITIGNORE_FILE : `${folder}/${GITIGNORE_FILE}`);
        if (content === undefined) continue;
        this.gitignores.set(folder, content);
        found = true;
      }
      if (found) this.rebuild();
      level = listed.flatMap(({ subfolders }) => subfolders).filter((folder) => !this.ignores(folder, true));
    }
  }

  private foldersAndRules(folder: string, entries: Dirent[] | Error): { hasGitignore: boolean; subfolders: string[] } {
    const subfolders: string[] = [];
    let hasGitignore = false;
    if (entries instanceof Error) {
      this.logger?.warn({ err: entries, folder }, 'cannot list folder while looking for .gitignore files');
      return { hasGitignore, subfolders };
    }
    for (const entry of entries) {
      if (entry.isDirectory()) subfolders.push(childPath(folder, entry.name));
      else if (entry.name === GITIGNORE_FILE && entry.isFile()) hasGitignore = true;
    }
    return { hasGitignore, subfolders };
  }

  /** The file's text, or undefined when it is missing, not a regular file, or unreadable. */
  private async readRulesFile(relPath: string): Promise<string | undefined> {
    const absPath = join(this.root, relPath);
    try {
      // A rules file that is a symlink is not followed: its target may be outside the folder.
      if (!(await lstat(absPath)).isFile()) return undefined;
      return await readFile(absPath, 'utf8');
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT' && errnoCode(err) !== 'ENOTDIR') {
        this.logger?.warn({ err, path: relPath }, 'cannot read ignore rules file');
      }
      return undefined;
    }
  }
}
