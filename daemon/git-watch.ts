// The folder's git state: the branch (simple-git), whether a git command is rewriting the
// tree right now (.git/index.lock), and commits to record on the server. A `git checkout`
// must pause the folder, not upload thousands of files: file events wait while git holds
// its lock, and the branch is read again before they proceed.
import { EventEmitter } from 'node:events';
import { existsSync, watch, type FSWatcher } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { simpleGit, type SimpleGit } from 'simple-git';
import { CommittedFiles } from './committed-files.js';
import type { GitSignals } from './discard-guard.js';
import type { ProjectApi } from './project-api.js';

const LOCK_WAIT_MAX_MS = 60_000;
/** Git moves HEAD right after writing the index; file events wait this long after an index write. */
const INDEX_SETTLE_MS = 300;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class GitWatch extends EventEmitter<{ change: [] }> {
  branch: string | null = null;
  head: string | null = null;
  /** What the last commit holds, once start() found a repository. */
  committed: CommittedFiles | null = null;
  private git: SimpleGit | null = null;
  private gitDir: string | null = null;
  private watcher: FSWatcher | null = null;
  private debounce: NodeJS.Timeout | null = null;
  private lastRecorded: string | null = null;
  /** The mtime of each git file whose write a burst was already put down to (see signalsSince). */
  private readonly signalsTaken = new Map<string, number>();

  constructor(
    private readonly root: string,
    private readonly log: Logger,
  ) {
    super();
  }

  async start(): Promise<void> {
    const dotGit = join(this.root, '.git');
    const info = await stat(dotGit).catch(() => null);
    if (!info?.isDirectory()) return; // Not a repository (or a worktree file): no branch tracking.
    this.gitDir = dotGit;
    this.git = simpleGit({ baseDir: this.root });
    this.committed = new CommittedFiles(this.root);
    await this.read();
    this.watcher = watch(dotGit, (_event, name) => {
      if (name !== 'HEAD' && name !== 'index.lock' && name !== 'HEAD.lock') return;
      if (this.debounce) clearTimeout(this.debounce);
      this.debounce = setTimeout(() => void this.read().then(() => this.emit('change')), 50);
    });
    // The folder's .git went away (a repository deleted or moved): the branch stays as read last.
    this.watcher.on('error', (err) => this.log.warn({ err }, 'watching .git failed'));
  }

  private async read(): Promise<void> {
    if (!this.git) return;
    try {
      const branch = (await this.git.revparse(['--abbrev-ref', 'HEAD'])).trim();
      this.head = (await this.git.revparse(['HEAD']).catch(() => '')).trim() || null;
      // A detached HEAD reads as "HEAD": name it by its commit so it never matches a branch.
      this.branch = branch === 'HEAD' ? `(detached ${this.head?.slice(0, 7) ?? ''})` : branch;
    } catch {
      // A repository without commits yet: the branch HEAD points at.
      const ref = (await this.git.raw(['symbolic-ref', '--short', 'HEAD']).catch(() => '')).trim();
      this.branch = ref || null;
      this.head = null;
    }
  }

  /**
   * Resolves when no git command is rewriting the tree (or after a minute, to never hang), with
   * `branch` read again from HEAD. A checkout rewrites the files under index.lock, but moves
   * HEAD only after it released the lock: a file event that waited for the lock alone would
   * still see the old branch and sync the new branch's files. So a freshly written index also
   * waits a moment, and HEAD is read directly every time (a file read, not a git process).
   */
  async settled(): Promise<void> {
    if (!this.gitDir) return;
    const lock = join(this.gitDir, 'index.lock');
    const deadline = Date.now() + LOCK_WAIT_MAX_MS;
    while (existsSync(lock) && Date.now() < deadline) await sleep(25);
    const index = await stat(join(this.gitDir, 'index')).catch(() => null);
    const sinceIndexWrite = index ? Date.now() - index.mtimeMs : Infinity;
    if (sinceIndexWrite >= 0 && sinceIndexWrite < INDEX_SETTLE_MS) await sleep(INDEX_SETTLE_MS - sinceIndexWrite);
    await this.readHead();
  }

  /** The branch from .git/HEAD itself; falls back to git when HEAD is not a plain file. */
  private async readHead(): Promise<void> {
    const head = await readFile(join(this.gitDir!, 'HEAD'), 'utf8').catch(() => null);
    const ref = head === null ? null : /^ref: refs\/heads\/(.+)$/.exec(head.trim());
    if (ref) this.branch = ref[1]!;
    else if (head !== null && /^[0-9a-f]{40,64}$/.test(head.trim())) this.branch = `(detached ${head.trim().slice(0, 7)})`;
    else await this.read();
  }

  /**
   * What git changed since `sinceMs`, by the files' times (no git process): ORIG_HEAD (a reset,
   * also to the same commit; a commit leaves it alone), the stash. A write counts for one
   * burst only, the first that asks after it: an `rm -r` a second after a `git stash` (whose
   * ORIG_HEAD write explained the stash's burst) is not taken for a reset.
   */
  async signalsSince(sinceMs: number): Promise<GitSignals> {
    const changed = async (...names: string[]) => {
      if (!this.gitDir) return false;
      let found = false;
      for (const name of names) {
        const info = await stat(join(this.gitDir, name)).catch(() => null);
        if (!info || info.mtimeMs < sinceMs || info.mtimeMs <= (this.signalsTaken.get(name) ?? -Infinity)) continue;
        this.signalsTaken.set(name, info.mtimeMs);
        found = true;
      }
      return found;
    };
    return { headMoved: await changed('ORIG_HEAD'), stashChanged: await changed('refs/stash', 'logs/refs/stash') };
  }

  /** Records the tracked branch's new commits (the last 50 the first time) on the server. */
  async recordNewCommits(api: ProjectApi, projectId: string): Promise<void> {
    if (!this.git || !this.head || this.head === this.lastRecorded) return;
    const range = this.lastRecorded ? [`${this.lastRecorded}..HEAD`] : ['-n', '50', 'HEAD'];
    const log = await this.git.log(range);
    const remotes = await this.git.getRemotes(true).catch(() => []);
    await api.putGitRepository(projectId, {
      remoteUrl: remotes.find((r) => r.name === 'origin')?.refs.fetch ?? null,
      defaultBranch: this.branch,
      headSha: this.head,
    });
    await api.recordCommits(
      projectId,
      log.all.map((c) => ({
        sha: c.hash,
        message: c.message,
        authorName: c.author_name,
        authorEmail: c.author_email,
        branch: this.branch ?? undefined,
        committedAt: new Date(c.date).toISOString(),
      })),
    );
    this.lastRecorded = this.head;
  }

  stop(): void {
    if (this.debounce) clearTimeout(this.debounce);
    this.committed?.close();
    this.watcher?.close();
  }
}
