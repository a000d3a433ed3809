// Holds local changes that would throw away teammates' work, before they are sent (issue 10;
// the rule itself is discard-guard.ts). Every local change of a path the project has asks
// `admit` first; removals (a deleted or emptied file) wait for the end of their burst, so the
// size rule counts the whole `rm -rf` and not its first hundred files. A change that discards
// a teammate's uncommitted work, or a burst over the size rule, halts the folder's sending:
// what arrives meanwhile is held too, until `codeshare resume` sends it or `resume --restore`
// brings the project's version back. Remote changes to paths not held still arrive.
import type { Logger } from 'pino';
import type * as Y from 'yjs';
import { contentText, type IndexEntry } from '../common/index-entry.js';
import type { Authors } from './authorship.js';
import { holdsCommitted, type CommittedFiles } from './committed-files.js';
import type { FolderHalt } from '../common/control-protocol.js';
import { guardBurst, type GitSignals, type GuardSettings, type LocalChange } from './discard-guard.js';
import { sha256Hex } from './file-content.js';

/** What a local change of a path the project has looks like. */
export interface ChangeFacts {
  path: string;
  /** The project's entry at the path. */
  entry: IndexEntry;
  /** A text entry's doc: the project's text now, which the change replaces. */
  doc: Y.Doc | null;
  /** What the disk holds now; null when the file is gone. */
  disk: Uint8Array | null;
}

export interface GateContext {
  authors: Authors;
  /** The last commit's files; null when the folder is not a git work tree. */
  committed: CommittedFiles | null;
  files: () => Y.Map<IndexEntry>;
  projectFiles: () => number;
  signalsSince: (sinceMs: number) => Promise<GitSignals>;
  /** When the burst of disk events going on now (or the last one) began. */
  burstStartedAt: () => number;
  settings: () => GuardSettings;
  log: Logger;
  /** The halt began, grew or ended. */
  changed: () => void;
}

interface Halt {
  since: number;
  held: Map<string, LocalChange>;
  /** What git showed changing around the burst (read once it began). */
  signals: GitSignals;
  verdict: Extract<ReturnType<typeof guardBurst>, { halt: true }> | null;
}

/**
 * Git's writes this long before a burst's first disk event count as the same command's (a reset
 * writes ORIG_HEAD, a stash its ref, before the files): a reset a while ago must not make a
 * later `git checkout -- .` look like one.
 */
const GIT_SIGNAL_WINDOW_MS = 1_000;

const NO_SIGNALS: GitSignals = { headMoved: false, stashChanged: false };

export class DiscardGate {
  private halt: Halt | null = null;
  /** Emptied files waiting for the end of their burst (deleted ones wait as pending unlinks). */
  private readonly emptied = new Map<string, LocalChange>();

  constructor(private readonly context: GateContext) {}

  /** Why the folder does not send, while it is halted. */
  get reason(): string | null {
    return this.halt?.verdict?.message ?? null;
  }

  get status(): FolderHalt | null {
    if (!this.halt?.verdict) return null;
    const { rule, looksLike, whose } = this.halt.verdict;
    return { rule, looksLike, files: this.halt.held.size, whose, since: new Date(this.halt.since).toISOString() };
  }

  get halted(): boolean {
    return this.halt !== null;
  }

  /** Whether the path's local change waits here: remote changes must not fold it in meanwhile. */
  holds(path: string): boolean {
    return this.halt?.held.has(path) === true || this.emptied.has(path);
  }

  /**
   * Whether a local change may be sent now. Not: the folder is halted (the change joins what is
   * held), the change discards a teammate's work (the folder halts), or it empties the file (it
   * waits for its burst's end, see decideRemovals).
   */
  async admit(facts: ChangeFacts): Promise<boolean> {
    const change = await this.classify(facts);
    this.context.log.debug({ ...change, halted: this.halt !== null }, 'local change classified');
    if (this.halt) {
      await this.hold([change]);
      return false;
    }
    if (change.discards.length > 0) {
      await this.hold([change]);
      return false;
    }
    if (change.effect === 'emptied') {
      this.emptied.set(change.path, change);
      return false;
    }
    return true;
  }

  /** The emptied files waiting for their burst's end (the mirror schedules that end). */
  get waitingRemovals(): number {
    return this.emptied.size;
  }

  /**
   * A burst of removals ended: `deleted` are the files it deleted, classified. Returns the
   * changes that may be sent now (none when the burst halts the folder or joins its halt).
   */
  async decideRemovals(deleted: LocalChange[]): Promise<LocalChange[]> {
    const burst = [...deleted, ...this.emptied.values()];
    this.emptied.clear();
    const verdict = guardBurst(burst, this.context.projectFiles(), NO_SIGNALS, this.context.settings());
    if (!this.halt && !verdict.halt) return burst;
    await this.hold(burst);
    return [];
  }

  /** Ends the halt: what it held, for the user's decision to act on. */
  release(): LocalChange[] {
    const held = [...(this.halt?.held.values() ?? [])];
    if (this.halt) this.context.log.info({ files: held.length }, 'the halt ended');
    this.halt = null;
    this.context.changed();
    return held;
  }

  private async hold(changes: LocalChange[]): Promise<void> {
    if (changes.length === 0) return;
    const began = this.halt === null;
    // The held set changes at once (no await before it), so changes held concurrently all count.
    const halt: Halt = this.halt ?? { since: Date.now(), held: new Map(), signals: NO_SIGNALS, verdict: null };
    for (const change of changes) halt.held.set(change.path, change);
    this.halt = halt;
    this.judge(halt, halt.signals);
    this.context.changed();
    if (began) {
      halt.signals = await this.context.signalsSince(this.context.burstStartedAt() - GIT_SIGNAL_WINDOW_MS);
      this.judge(halt, halt.signals);
      this.context.changed();
      const verdict = halt.verdict!;
      this.context.log.warn({ rule: verdict.rule, looksLike: verdict.looksLike, whose: verdict.whose, files: halt.held.size }, verdict.message);
    }
  }

  /** The halt's reason, from everything it holds. Once begun it stays, whatever joins it (an edit made meanwhile discards nothing). */
  private judge(halt: Halt, signals: GitSignals): void {
    const verdict = guardBurst([...halt.held.values()], this.context.projectFiles(), signals, this.context.settings());
    if (verdict.halt) halt.verdict = verdict;
    else if (!halt.verdict) throw new Error('held changes that halt nothing');
  }

  /** What the change does, and whose uncommitted work it throws away (see discard-guard.ts). */
  async classify({ path, entry, doc, disk }: ChangeFacts): Promise<LocalChange> {
    const projectHasContent = entry.kind === 'text' ? (doc ? contentText(doc).length > 0 : entry.size > 0) : entry.size > 0;
    const removal = disk === null ? 'deleted' : disk.byteLength === 0 && projectHasContent ? 'emptied' : null;
    const committed = this.context.committed;
    // Only a teammate's text can be discarded; without git there is no "uncommitted" to measure.
    if (!committed || !this.teammatesWrote(path, entry, doc)) return { path, effect: removal ?? 'edited', discards: [] };
    const atHead = await this.readCommitted(committed, path, 'HEAD');
    const reverted = removal === null && disk !== null && atHead !== null && holdsCommitted(atHead, disk);
    const effect = removal ?? (reverted ? 'reverted' : 'edited');
    if (effect === 'edited') return { path, effect, discards: [] };
    // Text a commit holds is not lost: also the commit a reset moved away from (ORIG_HEAD).
    const project = this.projectBytes(entry, doc);
    if (project && (atHead ? holdsCommitted(atHead, project) : false)) return { path, effect, discards: [] };
    const before = project ? await this.readCommitted(committed, path, 'ORIG_HEAD') : null;
    if (project && before && holdsCommitted(before, project)) return { path, effect, discards: [] };
    return { path, effect, discards: this.uncommittedTeammates(path, entry, doc, atHead?.bytes ?? null) };
  }

  private readCommitted(committed: CommittedFiles, path: string, revision: 'HEAD' | 'ORIG_HEAD') {
    return committed.read(path, revision).catch((err: unknown) => {
      this.context.log.warn({ err, path }, 'reading the committed file failed');
      return null;
    });
  }

  /** The project's bytes at the path, where they are at hand (text and symlinks; a binary's are on the server). */
  private projectBytes(entry: IndexEntry, doc: Y.Doc | null): Uint8Array | null {
    if (entry.kind === 'text') return doc ? Buffer.from(contentText(doc).toString(), 'utf8') : null;
    if (entry.kind === 'symlink') return Buffer.from(entry.target ?? '', 'utf8');
    return null;
  }

  private teammatesWrote(path: string, entry: IndexEntry, doc: Y.Doc | null): boolean {
    if (entry.kind === 'text' && doc) return this.context.authors.teammatesWrote(doc);
    return this.context.authors.keyAuthor(this.context.files() as Y.Map<unknown>, path) !== null;
  }

  /** Teammates whose work in the project's version is not in the commit (`committed`: null when the commit lacks the file). */
  private uncommittedTeammates(path: string, entry: IndexEntry, doc: Y.Doc | null, committed: Buffer | null): string[] {
    const authors = this.context.authors;
    if (entry.kind === 'text' && doc) return authors.uncommittedTeammates(doc, committed?.toString('utf8') ?? '');
    const projectSha = entry.kind === 'symlink' ? sha256Hex(Buffer.from(entry.target ?? '', 'utf8')) : entry.sha256;
    if (committed && sha256Hex(committed) === projectSha) return [];
    const author = authors.keyAuthor(this.context.files() as Y.Map<unknown>, path);
    return author ? [author] : [];
  }
}
