// Keeps one folder and one project identical, both ways.
//
//   disk -> watcher -> applyDiskChange -> Y docs -> ServerConnection -> server
//   server -> ServerConnection -> Y docs -> writeFromDocs -> disk
//
// Each path's work runs one at a time (a per-path queue), so a local edit and a remote edit of
// the same file never interleave. What the disk held when it last agreed with the docs is the
// path's *base*: a disk change is a diff against the base, a remote change is written only
// after any disk change since the base was folded into the doc, so both edits survive.
import { EventEmitter } from 'node:events';
import type { Stats } from 'node:fs';
import { lstat, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pLimit from 'p-limit';
import type { Logger } from 'pino';
import * as Y from 'yjs';
import { MAX_TEXT_BYTES, contentText, filesMap, parseIndexEntry, projectMap, sharedMode, type IndexEntry } from '../common/index-entry.js';
import { byPath, unsafePathReason } from '../common/paths-in-project.js';
import { INDEX_DOC, fileDocName } from '../common/protocol.js';
import { TEMP_FILE_PREFIX, writeFileAtomic } from '../common/atomic-write.js';
import { classifyContent, sha256Hex } from './file-content.js';
import { DiskWatcher, type DiskEvent } from './disk-watcher.js';
import { DiskReader } from './disk-reader.js';
import { FolderPresence } from './folder-presence.js';
import { PathQueue } from './path-queue.js';
import { BranchPause } from './branch-pause.js';
import { FileDocs } from './file-docs.js';
import {
  decideContentChange,
  decideDiskChange,
  decideRemoteRemoval,
  decideProjectWrite,
  decideRemoteRename,
  decideRescanFinding,
  planIndexChanges,
  unreportedTextEdit,
  projectAheadOfBase,
  syncStateOf,
  type IndexKeyChange,
} from './decisions.js';
import { PathsByFileId } from './paths-by-id.js';
import { probeFolderNaming } from './name-folding.js';
import { NameCollisions } from './name-collisions.js';
import { NewPaths } from './new-paths.js';
import { PathTimers } from './path-timers.js';
import { OwnWrites } from './own-writes.js';
import { RemovalBurst, type PendingRemoval } from './removal-burst.js';
import { FolderBases, baseFor } from './folder-bases.js';
import { DiskWrites } from './disk-writes.js';
import { LOCAL_ORIGIN, ProjectWrites, newFileId } from './project-writes.js';
import { Rescans } from './rescans.js';
import { driftedDocs } from './server-drift.js';
import { GitWatch } from './git-watch.js';
import { BackupFolder } from './backup-folder.js';
import { Authors, newClientId } from './authorship.js';
import { DiscardGate } from './discard-gate.js';
import { DEFAULT_GUARD, type LocalChange } from './discard-guard.js';
import { IgnoreRules, isIgnoreRulesFile } from '../common/ignore-rules.js';
import { LocalStore, type Base } from './local-store.js';
import { ProjectApi } from './project-api.js';
import { FolderProblems } from './folder-problems.js';
import { checkSymlinkTarget, type CheckedFolders } from '../common/safe-path.js';
import { REMOTE_ORIGIN, ServerConnection } from './server-connection.js';
import type { FolderEvent, FolderStatus, GuardSettings, JoinReport, ResumeReport } from '../common/control-protocol.js';
import { applyTextChange, lineStats } from '../common/text-diff.js';
import { mergeText } from './text-merge.js';
import pMap from 'p-map';

/** A disk change is read again this long after its last event (see scheduleRecheck). */
const RECHECK_DELAY_MS = 200;
/** Files written or read at once by share and join: overlaps the file system's and the network's waits. */
const FILE_CONCURRENCY = 16;

export interface FolderSpec {
  root: string;
  projectId: string;
  projectName: string;
  serverUrl: string;
  token: string;
  username: string;
  /** The size rule of the discard guard; absent: DEFAULT_GUARD. */
  guard?: GuardSettings;
}


export class FolderMirror extends EventEmitter<{ event: [FolderEvent] }> {
  readonly api: ProjectApi;
  private readonly connection: ServerConnection;
  private store!: LocalStore;
  private rules!: IgnoreRules;
  private watcher: DiskWatcher | null = null;
  private readonly git: GitWatch;
  private index!: Y.Doc;
  /** The file docs this folder holds (see file-docs.ts). */
  private docs!: FileDocs;
  private bases!: FolderBases;
  private readonly rescans = new Rescans({
    rescan: (checkEveryPath) => this.reconcileOnce(checkEveryPath),
    compareWithServer: () => this.compareWithServer().catch((err: unknown) => this.log.warn({ err }, 'comparing hashes with the server failed')),
  });
  private readonly queue = new PathQueue({
    before: (path) => this.readyForWork(path),
    failed: (path, err) => {
      this.log.error({ err, path }, 'sync of a path failed');
      this.emitEvent({ type: 'error', root: this.spec.root, message: `${path}: ${(err as Error).message}` });
    },
    idle: () => this.scheduleStatus(),
  });
  private readonly removals = new RemovalBurst({
    othersWaiting: () => this.gate?.waitingRemovals ?? 0,
    ended: (pending) => void this.endRemovalBurst(pending),
  });
  /** Who wrote what; this folder's client id for this run. */
  private authors!: Authors;
  private readonly clientId = newClientId();
  private gate!: DiscardGate;
  private readonly rechecks = new PathTimers();
  /**
   * Files read or written at once by the per-path work: a burst queues thousands of paths,
   * which would otherwise all open at once (macOS allows a process 256 open files by default).
   */
  private readonly diskIo = pLimit(FILE_CONCURRENCY * 2);
  /** Reads what a path holds now (see disk-reader.ts). */
  private readonly diskReader: DiskReader;
  /** The files this daemon wrote, until the disk shows another (see own-writes.ts). */
  private readonly ownWrites: OwnWrites;
  /** Blob uploads and downloads at once: in parallel, and not thousands of sockets. */
  private readonly transfers = pLimit(FILE_CONCURRENCY);
  /** New paths the watcher reported, not shared until they settle (see settling.ts). */
  private readonly newPaths = new NewPaths();
  /** Carries the project's side out on the disk (see disk-writes.ts). */
  private disk!: DiskWrites;
  /** Carries local changes out on the docs and the index (see project-writes.ts). */
  private writes!: ProjectWrites;
  private readonly branchPause: BranchPause;
  /** Paths here the project does not get, and why (see folder-problems.ts). */
  private readonly problems: FolderProblems;
  /** Project paths not written here: another path is the same name on this file system. */
  private collisions!: NameCollisions;
  private pathsById!: PathsByFileId;
  private stopped = false;
  /** Following docs on the server: set by goLive (and by join, which needs the index first). */
  private live = false;
  /**
   * Writing remote changes to the disk: set by goLive. Join follows docs before this, and
   * writes them itself, backing up what differs: a remote update written meanwhile would
   * overwrite a local file before join saved it.
   */
  private mirroring = false;
  private statusTimer: NodeJS.Timeout | null = null;
  private readonly presence: FolderPresence;

  constructor(
    readonly spec: FolderSpec,
    private readonly stateDir: string,
    private readonly log: Logger,
  ) {
    super();
    this.api = new ProjectApi(spec.serverUrl, spec.token);
    this.connection = new ServerConnection({ serverUrl: spec.serverUrl, token: spec.token, projectId: spec.projectId, log, clientId: this.clientId });
    this.git = new GitWatch(spec.root, log);
    this.presence = new FolderPresence(this.connection.awareness, spec.username);
    this.branchPause = new BranchPause(
      () => this.git.branch,
      () => (this.index ? ((projectMap(this.index).get('branch') as string | undefined) ?? null) : null),
      log,
    );
    this.diskReader = new DiskReader(spec.root, this.diskIo, (path) => this.bases.get(path)?.sha256);
    this.ownWrites = new OwnWrites(spec.root);
    this.problems = new FolderProblems({ root: spec.root, rules: () => this.rules, diskIo: this.diskIo, diskReader: this.diskReader, log, changed: () => this.scheduleStatus() });
    this.connection.on('state', () => this.emitStatus());
    // Acks arrive by the thousand during a share: status is recomputed at most every 50 ms.
    this.connection.on('persisted', () => this.scheduleStatus());
    this.connection.awareness.on('change', () => {
      this.learnAuthors();
      this.scheduleStatus();
    });
    this.connection.on('synced', (docName) => this.onDocSynced(docName));
    this.connection.on('denied', (docName, reason) => this.emitEvent({ type: 'error', root: this.spec.root, message: `${docName}: ${reason}` }));
  }

  private get storeDir(): string {
    return join(this.stateDir, 'folders', sha256Hex(this.spec.root).slice(0, 16));
  }

  /** Opens the local state and the rules; shared by every way of starting. */
  private async open(): Promise<void> {
    this.store = await LocalStore.open(this.storeDir, this.log);
    this.docs = new FileDocs(this.store, this.clientId, {
      follow: (docName, doc) => {
        if (this.live) this.connection.follow(docName, doc);
      },
      remoteChange: (id) => {
        if (!this.mirroring) return;
        for (const path of this.pathsOfFileId(id)) this.enqueue(path, () => this.writePath(path));
      },
    });
    this.authors = await Authors.load(this.storeDir, this.spec.username, this.clientId);
    this.rules = await IgnoreRules.load(this.spec.root, { logger: this.log });
    this.index = await this.store.loadDoc(INDEX_DOC);
    this.index.clientID = this.clientId;
    this.bases = new FolderBases(await this.store.loadBases(), this.store);
    this.disk = new DiskWrites({
      root: this.spec.root,
      diskIo: this.diskIo,
      transfers: this.transfers,
      downloadBlob: (sha256) => this.api.downloadBlob(this.spec.projectId, sha256),
      docs: this.docs,
      bases: this.bases,
      ownWrites: this.ownWrites,
      files: () => filesMap(this.index),
      settle: (path) => this.enqueue(path, () => this.writePath(path)),
    });
    this.writes = new ProjectWrites({
      root: this.spec.root,
      index: this.index,
      docs: this.docs,
      bases: this.bases,
      forgetBase: (path) => this.deleteBase(path),
      isSynced: (docName) => this.connection.isSynced(docName),
      uploadBlob: (sha256, bytes) => this.transfers(() => this.api.uploadBlob(this.spec.projectId, sha256, bytes)),
      activity: (action, path, extra) => this.emitActivity('local', action, path, extra),
    });
    this.pathsById = new PathsByFileId(filesMap(this.index));
    this.collisions = new NameCollisions(await probeFolderNaming(this.spec.root, process.env.CODESHARE_FOLDER_NAMING), filesMap(this.index), this.log, {
      freed: (path) => {
        if (this.mirroring) this.enqueue(path, () => this.writePath(path));
      },
      changed: () => this.scheduleStatus(),
    });
    await this.git.start();
    this.gate = new DiscardGate({
      authors: this.authors,
      committed: this.git.committed,
      files: () => filesMap(this.index),
      projectFiles: () => filesMap(this.index).size,
      signalsSince: (since) => this.git.signalsSince(since),
      burstStartedAt: () => this.removals.startedAt,
      settings: () => this.spec.guard ?? DEFAULT_GUARD,
      log: this.log,
      changed: () => this.emitStatus(),
    });
  }

  /** Teammates' presence names their client ids (see authorship.ts). */
  private learnAuthors(): void {
    if (!this.authors) return;
    for (const [clientId, name] of this.presence.names()) this.authors.learn(clientId, name);
  }

  /** The project path a name on disk stands for (see NameCollisions.projectPath). */
  private projectPath(diskPath: string): string {
    return this.collisions.projectPath(diskPath, (path) => this.bases.has(path) || filesMap(this.index).has(path));
  }

  // ---------------------------------------------------------------------------------------
  // Starting: share, join, resume

  /** A folder becomes the project's content: every file is uploaded. */
  async share(): Promise<void> {
    const { phases, phase } = phaseClock();
    await this.open();
    phase('opened');
    const branch = this.git.branch;
    const entries = await this.problems.scan();
    phase('scanned');
    const newEntries: [string, IndexEntry][] = [];
    let done = 0;
    await pMap(entries, async (scanned) => {
      const id = newFileId();
      const mode = scanned.kind === 'symlink' ? 0o777 : sharedMode(scanned.mode);
      const absPath = join(this.spec.root, scanned.path);
      if (scanned.kind === 'symlink') {
        newEntries.push([scanned.path, { id, kind: 'symlink', mode, size: scanned.size, target: scanned.target! }]);
        this.bases.set(scanned.path, { id, kind: 'symlink', mode, sha256: scanned.sha256, target: scanned.target! });
      } else {
        const bytes = await readFile(absPath);
        const content = classifyContent(bytes, MAX_TEXT_BYTES);
        const sha256 = sha256Hex(bytes);
        if (content.kind === 'text') {
          await this.docs.create(id, content.text);
          newEntries.push([scanned.path, { id, kind: 'text', mode, size: bytes.byteLength }]);
          this.bases.set(scanned.path, { id, kind: 'text', mode, sha256, text: content.text });
        } else {
          await this.api.uploadBlob(this.spec.projectId, sha256, bytes);
          newEntries.push([scanned.path, { id, kind: 'binary', mode, size: bytes.byteLength, sha256 }]);
          this.bases.set(scanned.path, { id, kind: 'binary', mode, sha256 });
        }
      }
      done++;
      if (done % 100 === 0) this.emitEvent({ type: 'progress', root: this.spec.root, phase: 'upload', done, total: entries.length });
    }, { concurrency: FILE_CONCURRENCY });
    this.index.transact(() => {
      const files = filesMap(this.index);
      for (const [path, entry] of newEntries) files.set(path, entry);
      if (branch) projectMap(this.index).set('branch', branch);
    }, LOCAL_ORIGIN);
    phase('docsMade');
    await this.goLive({ checkEveryPath: false });
    phase('live');
    await this.waitUntilSaved((saved, total) =>
      this.emitEvent({ type: 'progress', root: this.spec.root, phase: 'upload', done: saved, total }),
    );
    phase('saved');
    this.log.info({ files: entries.length, ms: phases }, 'shared');
  }

  /** A project is mirrored into the folder; local files that differ are backed up first. */
  async join(options: { keepLocal: boolean }): Promise<JoinReport> {
    const { phases, phase } = phaseClock();
    await this.open();
    phase('opened');
    this.live = true;
    this.connection.follow(INDEX_DOC, this.index);
    this.connection.start();
    await this.connection.whenSynced(INDEX_DOC);
    phase('indexSynced');
    const report: JoinReport = { kept: 0, written: 0, replaced: [], pushed: 0 };
    const backups = new BackupFolder(this.stateDir, this.spec.projectName, '');
    const entries = this.indexEntries();
    // Follow every file doc first, so their contents arrive together.
    await Promise.all([...entries.values()].map((entry) => (entry.kind === 'text' ? this.docs.ensure(entry.id) : undefined)));
    phase('docsLoaded');
    let done = 0;
    const checked: CheckedFolders = { folders: new Set() };
    await pMap(entries, async ([path, entry]) => {
      done++;
      if (done % 100 === 0) this.emitEvent({ type: 'progress', root: this.spec.root, phase: 'download', done, total: entries.size });
      if (this.refusePath(path) || this.collisions.has(path)) return;
      if (entry.kind === 'text') await this.connection.whenSynced(fileDocName(entry.id));
      const wanted = await this.disk.projectBytes(entry);
      const disk = await this.diskReader.read(path);
      if (disk && disk.kind !== 'dir' && disk.sha256 === wanted.sha256) {
        this.bases.set(path, baseFor(entry, wanted));
        if (disk.kind === 'file' && disk.mode !== entry.mode) await writeFileAtomic(this.spec.root, path, disk.bytes, { mode: entry.mode });
        report.kept++;
        return;
      }
      if (disk && disk.kind === 'file') {
        if (options.keepLocal && entry.kind === 'text') {
          // The local version wins: it becomes an edit of the project's file.
          this.bases.set(path, baseFor(entry, wanted));
          await this.applyDiskChange(path);
          report.pushed++;
          return;
        }
        report.replaced.push({ path, backup: await backups.save(path, disk.bytes, disk.mode) });
      }
      await this.disk.writeEntry(path, entry, wanted, checked);
      report.written++;
    }, { concurrency: FILE_CONCURRENCY });
    report.replaced.sort(byPath);
    phase('written');
    // Files only this folder has are shared, so both sides end identical and nothing is lost.
    const local = await this.problems.scan();
    const files = filesMap(this.index);
    for (const scanned of local) {
      if (files.has(scanned.path)) continue;
      await this.applyDiskChange(scanned.path);
      report.pushed++;
    }
    if (!projectMap(this.index).get('branch') && this.git.branch) {
      this.index.transact(() => projectMap(this.index).set('branch', this.git.branch), LOCAL_ORIGIN);
    }
    phase('localScanned');
    await this.goLive({ checkEveryPath: false });
    phase('live');
    this.log.info({ files: entries.size, ms: phases }, 'joined');
    return report;
  }

  /** The daemon restarted: local state is loaded, edits made meanwhile are found and synced. */
  async resume(): Promise<void> {
    await this.open();
    await Promise.all([...this.indexEntries().values()].map((entry) => (entry.kind === 'text' ? this.docs.ensure(entry.id) : undefined)));
    // Remote changes stored here before a crash may never have reached the disk: look at all.
    await this.goLive({ checkEveryPath: true });
  }

  /**
   * Connects, follows every doc, watches the disk, reconciles what changed meanwhile.
   * `checkEveryPath`: compare every path with its doc, not only the paths known to differ.
   */
  private async goLive({ checkEveryPath }: { checkEveryPath: boolean }): Promise<void> {
    this.live = true;
    this.mirroring = true;
    this.connection.follow(INDEX_DOC, this.index);
    for (const [id, doc] of this.docs.entries()) this.connection.follow(fileDocName(id), doc);
    if (this.connection.state === 'offline') this.connection.start();
    this.index.on('update', this.onIndexUpdate);
    filesMap(this.index).observe(this.onFilesChanged);
    this.git.on('change', () => void this.checkBranch());
    await this.checkBranch();
    this.watcher = new DiskWatcher(this.spec.root, this.rules, this.log);
    this.watcher.on('event', (event) => this.onWatcherEvent(event));
    await this.watcher.start();
    await this.reconcile({ checkEveryPath });
    this.rescans.start();
    this.presence.announce(this.git.branch);
    this.emitStatus();
  }

  /** Resolves once the server stored everything this folder holds. */
  async waitUntilSaved(progress?: (saved: number, total: number) => void, timeoutMs = 600_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const total = this.docs.size + 1;
    while (this.connection.unsavedCount > 0 || this.connection.state !== 'online') {
      if (this.connection.state === 'refused') throw new Error(this.connection.refusedReason ?? 'the server refused the folder');
      if (Date.now() > deadline) throw new Error('timed out waiting for the server to store the folder');
      progress?.(total - this.connection.unsavedCount, total);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    progress?.(total, total);
  }

  // ---------------------------------------------------------------------------------------
  // Disk -> docs

  private onWatcherEvent(event: DiskEvent): void {
    this.removals.noteDiskEvent();
    switch (event.type) {
      case 'changed':
        return this.onDiskEvent(event.path);
      case 'removed':
        return this.onDiskUnlink(event.path);
      case 'mode':
        return void this.checkMode(event.path);
      case 'folder':
        // A folder where the project has a file: the file was replaced by it.
        if (this.bases.has(event.path) || filesMap(this.index).has(event.path)) this.onDiskEvent(event.path);
        return;
    }
  }

  private onDiskEvent(diskPath: string): void {
    if (diskPath.split('/').pop()!.startsWith(TEMP_FILE_PREFIX)) return;
    const path = this.projectPath(diskPath);
    if (isIgnoreRulesFile(path)) {
      void this.rules.reloadFile(path).then((changed) => (changed ? this.reconcile() : undefined));
    }
    if (this.rules.ignores(path, false)) return;
    if (!this.bases.has(path) && !filesMap(this.index).has(path)) {
      // A new path is read once, when it settled; at once only when it may be a rename's target.
      const verdict = this.newPaths.noteEvent(path);
      if (this.removals.size === 0 && !verdict.settled) return this.applyOnceSettled(path, verdict.recheckInMs);
    }
    this.enqueue(path, () => this.applyWatchedChange(path));
    this.scheduleRecheck(path);
  }

  /**
   * Looks at the path again a little later. An event may be read mid-write: `writeFile`
   * truncates, then writes, and when both land within one tick of the kernel's coarse file
   * clock the watcher sees one mtime and reports one change, which may have read the empty
   * file. Without a second look the truncated text would stand until the next rescan.
   */
  private scheduleRecheck(path: string): void {
    this.rechecks.set(path, RECHECK_DELAY_MS, () => {
      // Only a change is looked for: a removal has its own event.
      if (!this.stopped) void this.enqueue(path, () => this.applyWatchedChange(path, { onlyIfThere: true }));
    });
  }

  private async checkMode(path: string): Promise<void> {
    const base = this.bases.get(path);
    if (!base || base.kind === 'symlink') return;
    const stats = await lstat(join(this.spec.root, path)).catch(() => null);
    if (stats?.isFile() && sharedMode(stats.mode) !== base.mode) this.onDiskEvent(path);
  }

  private onDiskUnlink(diskPath: string): void {
    const path = this.projectPath(diskPath);
    if (this.rules.ignores(path, false)) return;
    this.problems.clear(path);
    this.enqueue(path, () => this.applyDiskUnlink(path));
  }

  /** Runs `work` after the path's earlier work (see path-queue.ts). */
  private enqueue(path: string, work: () => Promise<void>): Promise<void> {
    return this.queue.run(path, work);
  }

  /** Before each path's work: git must be done rewriting, and the folder on the tracked branch. */
  private async readyForWork(path: string): Promise<boolean> {
    if (this.stopped) return false;
    await this.git.settled();
    this.pauseIfOffBranch();
    if (!this.pausedReason) return true;
    // Resuming reconciles the whole folder, which finds what is still there.
    this.newPaths.forget(path);
    return false;
  }

  /**
   * applyDiskChange for what the watcher reported. Each remote change written here comes back
   * from the watcher, often twice (the event and its recheck): known by its stat, it is not read
   * and hashed again, which was most of what a burst cost the receiving side. A rescan reads
   * every changed file regardless, so an edit made within the instant between a write and its
   * stat (same size, same clock tick) is still found.
   */
  private async applyWatchedChange(path: string, { onlyIfThere = false } = {}): Promise<void> {
    const stats = await this.diskIo(() => lstat(join(this.spec.root, path))).catch(() => null);
    if (stats ? this.ownWrites.isOwn(path, stats) : onlyIfThere) return;
    return this.applyDiskChange(path, stats);
  }

  /** `decided`: the user (or the end of its burst) let this change through the discard gate. */
  private async applyDiskChange(path: string, known?: Stats | null, decided = false): Promise<void> {
    if (await this.problems.tooLargeToShare(path, known)) return;
    const disk = await this.problems.readOrNoteUnreadable(path);
    if (disk === 'unreadable') return;
    if (!disk || disk.kind === 'dir' || this.bases.has(path) || filesMap(this.index).has(path)) this.newPaths.forget(path);
    if (!disk) {
      await this.problems.noteUnshareable(path);
      return this.applyDiskUnlink(path);
    }
    this.problems.clear(path);
    const files = filesMap(this.index);
    const base = this.bases.get(path);
    const entry = parseIndexEntry(files.get(path));
    const action = decideDiskChange(disk, base, entry);
    switch (action.do) {
      case 'became-folder':
        return this.fileBecameFolder(path);
      case 'symlink':
        return disk.kind === 'symlink' ? this.applyDiskSymlink(path, disk, entry) : undefined;
      case 'unchanged':
        if (action.mode !== null && base && entry) {
          this.writes.setMode(path, entry, action.mode);
          this.bases.set(path, { ...base, mode: action.mode });
        }
        return;
      case 'follow-project':
        return this.writePath(path);
    }
    if (disk.kind !== 'file') return;
    if (entry && !decided && !(await this.admitted(path, entry, disk.bytes))) return;
    const content = classifyContent(disk.bytes, MAX_TEXT_BYTES);
    const change = decideContentChange(entry, content.kind);
    if (change === 'new-file' || !entry) return this.applyNewDiskFile(path, disk, content);
    if (change === 'edit-text' && content.kind === 'text') return this.writes.editText(path, entry, base, disk, content.text);
    return this.writes.putContent(path, entry, base, disk, content);
  }

  /** A symlink on disk: shared when it stays inside the folder, listed as not shared when not. */
  private async applyDiskSymlink(path: string, disk: { target: string; sha256: string }, entry: IndexEntry | null): Promise<void> {
    const verdict = await checkSymlinkTarget(this.spec.root, path, disk.target);
    if (!verdict.safe) {
      this.problems.note({ path, reason: 'unsafe-symlink', detail: `${verdict.reason}: ${JSON.stringify(disk.target)}` });
      return;
    }
    this.writes.setSymlink(path, disk, entry);
  }

  /** A file at a path the project does not have: a rename's target, or (once settled) a new file. */
  private async applyNewDiskFile(path: string, disk: { bytes: Buffer; sha256: string; mode: number }, content: ReturnType<typeof classifyContent>): Promise<void> {
    const renamed = this.removals.takeRenameSource(disk.sha256);
    if (renamed) {
      this.writes.rename(renamed, path, disk.mode);
      this.newPaths.forget(path);
      return;
    }
    const verdict = this.newPaths.verdict(path);
    if (!verdict.settled) return this.applyOnceSettled(path, verdict.recheckInMs);
    this.newPaths.forget(path);
    return this.writes.putContent(path, null, undefined, disk, content);
  }

  /**
   * A folder stands where the project has a file: the file was removed and a folder of the same
   * name made. The watcher reports that as a change of the file (or as a new folder) and does
   * not look inside, so the folder is watched and the tree scanned for what it holds.
   */
  private async fileBecameFolder(path: string): Promise<void> {
    if (!this.bases.has(path) && !filesMap(this.index).has(path)) return;
    const seen = this.removals.has(path);
    await this.applyDiskUnlink(path);
    // Once: the new watch lists the folder again, which reports the folder again.
    if (!seen) this.watcher?.rewatch(path);
  }

  private applyOnceSettled(path: string, ms: number): void {
    this.newPaths.readLater(path, ms, () => {
      if (!this.stopped) void this.enqueue(path, () => this.applyDiskChange(path));
    });
  }

  /** The file is gone from disk: once its burst ended (and it was no rename), it is gone from the project. */
  private async applyDiskUnlink(path: string): Promise<void> {
    if (await this.diskReader.fileAt(path)) return;
    const base = this.bases.get(path);
    const entry = parseIndexEntry(filesMap(this.index).get(path));
    if (!entry) {
      if (base) this.deleteBase(path);
      return;
    }
    if (this.removals.has(path)) return;
    this.removals.add({ path, base: base ?? { id: entry.id, kind: entry.kind, mode: entry.mode, sha256: entry.sha256 ?? '' }, entry });
  }

  /**
   * Asks the discard gate whether a local change of a project path may be sent. Share and join
   * decide for themselves (a join's --keep-local is the user's word), so only a live folder asks.
   */
  private async admitted(path: string, entry: IndexEntry, disk: Uint8Array | null): Promise<boolean> {
    if (!this.mirroring) return true;
    const doc = entry.kind === 'text' ? await this.docs.ensure(entry.id) : null;
    if (await this.gate.admit({ path, entry, doc, disk })) return true;
    if (this.gate.waitingRemovals > 0) this.removals.schedule();
    return false;
  }

  /**
   * The burst of removals ended: what is still gone (no rename took it) is classified, and the
   * discard gate sends it or holds it, as one burst.
   */
  private async endRemovalBurst(pending: PendingRemoval[]): Promise<void> {
    const deleted: LocalChange[] = [];
    await Promise.all(
      pending.map(({ path, entry }) =>
        this.enqueue(path, async () => {
          const current = parseIndexEntry(filesMap(this.index).get(path));
          if (current?.id !== entry.id || (await this.diskReader.fileAt(path))) return;
          const doc = current.kind === 'text' ? await this.docs.ensure(current.id) : null;
          deleted.push(await this.gate.classify({ path, entry: current, doc, disk: null }));
        }),
      ),
    );
    const ids = new Map(pending.map(({ path, entry }) => [path, entry.id]));
    for (const change of await this.gate.decideRemovals(deleted)) {
      const id = ids.get(change.path);
      if (change.effect === 'emptied' || id === undefined) this.enqueue(change.path, () => this.applyDiskChange(change.path, undefined, true));
      else this.enqueue(change.path, () => this.deleteFromProject(change.path, id));
    }
  }

  private async deleteFromProject(path: string, id: string): Promise<void> {
    if (await this.diskReader.fileAt(path)) return;
    const current = parseIndexEntry(filesMap(this.index).get(path));
    if (current?.id !== id) return;
    this.writes.delete(path);
  }

  // ---------------------------------------------------------------------------------------
  // Docs -> disk

  private readonly onIndexUpdate = (_update: Uint8Array, origin: unknown) => {
    if (origin === REMOTE_ORIGIN) this.checkBranch().catch(() => undefined);
  };

  private readonly onFilesChanged = (event: Y.YMapEvent<IndexEntry>) => {
    if (event.transaction.origin !== REMOTE_ORIGIN) return;
    const files = filesMap(this.index);
    const changes: IndexKeyChange[] = [...event.changes.keys].map(([path, change]) =>
      change.action === 'delete' ? { path, deleted: true, old: parseIndexEntry(change.oldValue) } : { path, deleted: false, entry: parseIndexEntry(files.get(path)) },
    );
    for (const action of planIndexChanges(changes)) {
      if (action.do === 'rename') this.enqueue(action.to, () => this.applyRemoteRename(action.from, action.to));
      else this.enqueue(action.path, () => this.writePath(action.path));
    }
    this.splitSharedIds(changes.filter((change) => !change.deleted && change.entry).map((change) => change.path));
  };

  /**
   * Two keys with one id: both sides renamed the same file at once. The two files would share
   * one doc (an edit of one would rewrite the other) and the server keeps one path per id, so
   * every path but the first in sort order (the same choice on every side) becomes a copy with
   * an id of its own. Both sides may split at once; the index keeps one of the new ids, and
   * both copies hold the same text.
   */
  private splitSharedIds(paths: Iterable<string>): void {
    for (const path of paths) {
      const id = (filesMap(this.index).get(path) as IndexEntry | undefined)?.id;
      if (typeof id !== 'string' || this.pathsById.count(id) < 2) continue;
      if (this.sharedIdToSplit(path)) this.enqueue(path, () => this.giveOwnId(path));
    }
  }

  private sharedIdToSplit(path: string): IndexEntry | null {
    const entry = parseIndexEntry(filesMap(this.index).get(path));
    if (!entry) return null;
    const sharing = this.pathsOfFileId(entry.id).sort();
    return sharing.length > 1 && sharing[0] !== path ? entry : null;
  }

  private async giveOwnId(path: string): Promise<void> {
    const entry = this.sharedIdToSplit(path);
    if (!entry) return;
    const id = newFileId();
    if (entry.kind === 'text') {
      const docName = fileDocName(entry.id);
      const text = contentText(await this.docs.ensure(entry.id)).toString();
      if (!this.connection.isSynced(docName) && text.length === 0 && entry.size > 0) {
        this.docs.writeWhenSynced(entry.id); // Its content has not arrived yet; writing the path splits it then.
        return;
      }
      await this.docs.create(id, text);
    }
    this.index.transact(() => filesMap(this.index).set(path, { ...entry, id }), LOCAL_ORIGIN);
    const base = this.bases.get(path);
    if (base?.id === entry.id) this.bases.set(path, { ...base, id });
    this.log.info({ path, from: entry.id, to: id }, 'a path sharing its file id with another became a copy');
    await this.writePath(path);
  }

  private onDocSynced(docName: string): void {
    const id = this.docs.takeAwaited(docName);
    if (!id || !this.mirroring) return;
    const paths = this.pathsOfFileId(id);
    for (const path of paths) this.enqueue(path, () => this.writePath(path));
    this.splitSharedIds(paths);
  }

  /** Usually one path; two when both sides renamed the same file at once (same id, two keys). */
  private pathsOfFileId(id: string): string[] {
    return this.pathsById.of(id);
  }

  private refusePath(path: string): boolean {
    const reason = unsafePathReason(path);
    if (!reason) return false;
    this.log.warn({ path: path.slice(0, 300), reason }, 'refused an index entry');
    this.emitEvent({ type: 'error', root: this.spec.root, message: `refused ${JSON.stringify(path.slice(0, 100))}: ${reason}` });
    return true;
  }

  private async applyRemoteRename(oldPath: string, newPath: string): Promise<void> {
    if (this.refusePath(newPath)) return;
    // Held here: the resume that decides reconciles the folder, which moves what is left.
    if (this.gate.holds(oldPath) || this.gate.holds(newPath)) return;
    const base = this.bases.get(oldPath);
    const disk = await this.diskReader.read(oldPath);
    const target = await this.diskReader.read(newPath);
    if (base && decideRemoteRename(base, disk, target !== null) === 'move' && (await this.disk.moveFile(oldPath, newPath))) {
      this.deleteBase(oldPath);
      this.bases.set(newPath, base);
      this.emitActivity('remote', 'renamed', newPath, { oldPath });
    } else {
      // Something changed (or went) locally meanwhile: handle as a delete and an add. A file
      // removed here between the look and the move used to fail the path until the next rescan.
      await this.writePath(oldPath);
    }
    await this.writePath(newPath);
  }

  /** Brings the disk at `path` in line with the index and the file's doc. */
  private async writePath(path: string): Promise<void> {
    if (this.refusePath(path) || this.rules.ignores(path, false) || this.collisions.has(path)) return;
    // A local change of the path waits for the user's decision: writing now would fold it in.
    if (this.gate.holds(path)) return;
    const entry = parseIndexEntry(filesMap(this.index).get(path));
    const base = this.bases.get(path);
    if (entry?.kind === 'text' && (await this.awaitingContent(entry))) return;
    const disk = await this.diskReader.readSettled(path);
    if (!entry) {
      const removal = decideRemoteRemoval(disk, base);
      if (removal === 'nothing') return;
      if (removal === 'remove-local') await this.disk.removeFile(path);
      this.deleteBase(path);
      if (removal === 'remove-local') this.emitActivity('remote', 'deleted', path);
      if (removal === 'keep-local-as-new') await this.applyDiskChange(path);
      return;
    }
    if (!(await this.disk.clearWayTo(path, disk?.kind === 'dir'))) return;
    if (entry.kind === 'text') {
      if (await this.awaitingContent(entry)) return;
      const doc = await this.docs.ensure(entry.id);
      const ytext = contentText(doc);
      let text = ytext.toString();
      const local = disk?.kind === 'file' ? classifyContent(disk.bytes, MAX_TEXT_BYTES) : null;
      if (disk?.kind === 'file' && local?.kind === 'text' && unreportedTextEdit(disk, base, local.kind)) {
        // A disk edit the watcher has not reported yet: fold it in first (also when the entry
        // now names another doc, e.g. a copy made when both sides renamed the file at once).
        if (!(await this.admitted(path, entry, disk.bytes))) return;
        const merged = mergeText(base!.text!, local.text, text);
        doc.transact(() => applyTextChange(ytext, text, merged), LOCAL_ORIGIN);
        text = merged;
      }
      const bytes = Buffer.from(text, 'utf8');
      const sha256 = sha256Hex(bytes);
      this.docs.changedByServer.delete(entry.id);
      if (decideProjectWrite(disk, { kind: 'text', sha256, mode: entry.mode }) === 'record-base') {
        this.bases.set(path, { id: entry.id, kind: 'text', mode: entry.mode, sha256, text });
        return;
      }
      const before = base?.text ?? '';
      await this.disk.writeFile(path, bytes, entry.mode);
      this.bases.set(path, { id: entry.id, kind: 'text', mode: entry.mode, sha256, text });
      this.emitActivity('remote', base ? 'edited' : 'created', path, lineStats(before, text));
      return;
    }
    // The entry names its bytes by hash: a disk that holds them needs no download.
    const wantedSha256 = entry.kind === 'symlink' ? sha256Hex(Buffer.from(entry.target ?? '', 'utf8')) : entry.sha256!;
    if (decideProjectWrite(disk, { kind: entry.kind, sha256: wantedSha256, mode: entry.mode }) === 'record-base') {
      this.bases.set(path, baseFor(entry, { sha256: wantedSha256 }));
      return;
    }
    const wanted = await this.disk.projectBytes(entry);
    await this.disk.writeEntry(path, entry, wanted);
    this.emitActivity('remote', base ? 'edited' : 'created', path);
  }

  /**
   * Whether a text entry's content has yet to arrive (its doc is empty, not synced, and the
   * entry says it has bytes): its arrival writes the path, so nothing is read or written now.
   */
  private async awaitingContent(entry: IndexEntry): Promise<boolean> {
    const doc = await this.docs.ensure(entry.id);
    if (this.connection.isSynced(fileDocName(entry.id)) || contentText(doc).length > 0 || entry.size === 0) return false;
    this.docs.writeWhenSynced(entry.id);
    return true;
  }

  // ---------------------------------------------------------------------------------------
  // A halted burst: the user's decision

  /**
   * `codeshare resume`: sends what the halt held, as it is; the project's versions it replaces
   * are saved in a backup folder first. `restore`: gives the held paths the project's version
   * back instead, saving what the disk held there. Either way nothing is lost, and the folders
   * end identical.
   */
  async decideHalt({ restore }: { restore: boolean }): Promise<ResumeReport> {
    if (!this.gate.halted) {
      const why = this.pausedReason ? `: it is paused because it is ${this.pausedReason}, which ends by itself` : '';
      throw new Error(`${this.spec.root} holds no changes to decide on${why}`);
    }
    const backups = new BackupFolder(this.stateDir, this.spec.projectName, restore ? 'before-restore' : 'before-resume');
    const report: ResumeReport = { root: this.spec.root, sent: 0, restored: 0, backup: null };
    const held = this.gate.release();
    await Promise.all(
      held.map((change) =>
        this.enqueue(change.path, async () => {
          if (restore && change.effect !== 'edited') {
            await this.restorePath(change.path, backups);
            report.restored++;
          } else {
            await this.sendHeld(change, backups);
            report.sent++;
          }
        }),
      ),
    );
    report.backup = backups.used ? backups.dir : null;
    this.log.info({ ...report, restore }, restore ? 'the held burst was undone here' : 'the held burst was sent');
    // What the halt kept from being written (remote changes of held paths, renames) follows now.
    await this.reconcile();
    return report;
  }

  /** Sends a held change; what it discards of the project's version is saved first. */
  private async sendHeld(change: LocalChange, backups: BackupFolder): Promise<void> {
    const entry = parseIndexEntry(filesMap(this.index).get(change.path));
    if (entry && change.effect !== 'edited') {
      const project = await this.disk.projectBytes(entry);
      await backups.save(change.path, project.bytes, entry.kind === 'symlink' ? 0o644 : entry.mode);
    }
    if (entry && !(await this.diskReader.fileAt(change.path))) return this.deleteFromProject(change.path, entry.id);
    return this.applyDiskChange(change.path, undefined, true);
  }

  /** Writes the project's version of a held path over what the disk holds, saving that first. */
  private async restorePath(path: string, backups: BackupFolder): Promise<void> {
    const entry = parseIndexEntry(filesMap(this.index).get(path));
    const disk = await this.diskReader.read(path);
    const wanted = entry ? await this.disk.projectBytes(entry) : null;
    if (disk?.kind === 'file' && disk.sha256 !== wanted?.sha256) await backups.save(path, disk.bytes, disk.mode);
    if (!entry) {
      // A teammate removed it meanwhile: the project's version is no file.
      if (disk && disk.kind !== 'dir') await this.disk.removeFile(path);
      if (this.bases.has(path)) this.deleteBase(path);
      return;
    }
    if (disk?.kind === 'dir' || !(await this.disk.clearWayTo(path, false))) return this.writePath(path);
    await this.disk.writeEntry(path, entry, wanted!);
    this.emitActivity('remote', disk ? 'edited' : 'created', path);
  }

  /** Changes the size rule of the discard guard (null: the default). */
  setGuard(settings: GuardSettings | null): void {
    if (settings) this.spec.guard = settings;
    else delete this.spec.guard;
    this.emitStatus();
  }

  // ---------------------------------------------------------------------------------------
  // Reconciliation, git, status

  /**
   * Compares the whole folder with the bases and the index: catches what the watcher missed,
   * edits made while offline or stopped, and remote changes not yet written.
   */
  reconcile(options: { checkEveryPath?: boolean } = {}): Promise<void> {
    return this.rescans.request(options);
  }

  /** Text docs that differ from the server's hash are synced again (see server-drift.ts). */
  private async compareWithServer(): Promise<void> {
    if (this.stopped || this.pausedReason || this.connection.state !== 'online') return;
    const onServer = await this.api.listFiles(this.spec.projectId);
    const drifted = driftedDocs(this.indexEntries(), onServer, {
      settled: (docName) => this.connection.isSynced(docName) && !this.connection.isUnsaved(docName),
      text: (id) => {
        const doc = this.docs.get(id);
        return doc ? contentText(doc).toString() : undefined;
      },
    });
    for (const docName of drifted) this.connection.resync(docName);
    if (drifted.length > 0) this.log.warn({ resynced: drifted.length }, 'text differed from the server; synced those docs again');
    else this.log.debug({ files: onServer.size }, 'every text file matches the server');
  }

  private async reconcileOnce(checkEveryPath: boolean): Promise<void> {
    if (this.stopped || this.pausedReason) return;
    const entries = (await this.problems.scan()).map((e) => ({ ...e, path: this.projectPath(e.path) }));
    const onDisk = new Map(entries.map((e) => [e.path, e]));
    const files = filesMap(this.index);
    const work: Promise<void>[] = [];
    for (const scanned of entries) {
      const base = this.bases.get(scanned.path);
      const projectAhead = base !== undefined && this.projectAhead(scanned.path, base);
      const action = decideRescanFinding(scanned, base, files.has(scanned.path), { projectAhead, checkEveryPath });
      if (action === 'read-disk') work.push(this.enqueue(scanned.path, () => this.applyDiskChange(scanned.path)));
      else if (action === 'write-project') work.push(this.enqueue(scanned.path, () => this.writePath(scanned.path)));
    }
    for (const [path] of this.bases) {
      if (!onDisk.has(path)) work.push(this.enqueue(path, () => this.applyDiskUnlink(path)));
    }
    for (const path of files.keys()) {
      if (!onDisk.has(path) && !this.bases.has(path)) work.push(this.enqueue(path, () => this.writePath(path)));
    }
    await Promise.all(work);
    this.splitSharedIds([...files.keys()]);
  }

  /** The disk holds `base` at `path`: does the project hold something else there? */
  private projectAhead(path: string, base: Base): boolean {
    const entry = parseIndexEntry(filesMap(this.index).get(path));
    const doc = entry?.kind === 'text' ? this.docs.get(entry.id) : undefined;
    return projectAheadOfBase(base, entry, { docLength: doc ? contentText(doc).length : undefined, docChanged: entry ? this.docs.changedByServer.has(entry.id) : false });
  }

  private pauseIfOffBranch(): void {
    if (this.branchPause.pauseIfOffBranch()) this.emitStatus();
  }

  private async checkBranch(): Promise<void> {
    const change = this.branchPause.update();
    if (change !== 'unchanged') this.emitStatus();
    if (change === 'resumed') await this.reconcile();
    if (this.branchPause.onTrackedBranch) await this.git.recordNewCommits(this.api, this.spec.projectId).catch(() => undefined);
    this.presence.announce(this.git.branch);
  }

  /** Why the folder does not sync now (a branch switch), or null. */
  private get pausedReason(): string | null {
    return this.branchPause.reason;
  }

  status(): FolderStatus {
    const connection = this.connection.state;
    const unsaved = this.connection.unsavedCount;
    const pending = this.queue.busy > 0 || this.newPaths.waiting > 0 || this.removals.deciding;
    const state = syncStateOf({ paused: this.pausedReason !== null || this.gate?.halted === true, connection, unsaved, pending });
    const peers = this.presence.peers();
    return {
      root: this.spec.root,
      projectId: this.spec.projectId,
      projectName: this.spec.projectName,
      serverUrl: this.spec.serverUrl,
      state,
      unsaved,
      connection,
      pausedReason: this.pausedReason ?? this.gate?.reason ?? null,
      branch: this.git.branch,
      trackedBranch: this.index ? ((projectMap(this.index).get('branch') as string | undefined) ?? null) : null,
      files: this.index ? filesMap(this.index).size : 0,
      peers,
      problems: [...this.problems.values(), ...(this.collisions?.problems() ?? [])].sort(byPath),
      halt: this.gate?.status ?? null,
      guard: this.spec.guard ?? DEFAULT_GUARD,
    };
  }

  private scheduleStatus(): void {
    if (this.statusTimer) return;
    this.statusTimer = setTimeout(() => {
      this.statusTimer = null;
      this.emitStatus();
    }, 50);
  }

  private emitStatus(): void {
    if (!this.index) return;
    this.emitEvent({ type: 'status', root: this.spec.root, status: this.status() });
  }

  private emitActivity(
    direction: 'local' | 'remote',
    action: 'created' | 'edited' | 'renamed' | 'deleted',
    path: string,
    extra: { oldPath?: string; added?: number; removed?: number } = {},
  ): void {
    this.log.debug({ direction, action, path, ...extra }, 'activity');
    this.emitEvent({
      type: 'activity',
      root: this.spec.root,
      direction,
      action,
      path,
      ...(direction === 'remote' ? { user: this.presence.likelyAuthor(path) } : {}),
      ...(extra.oldPath ? { oldPath: extra.oldPath } : {}),
      ...(extra.added !== undefined ? { linesAdded: extra.added, linesRemoved: extra.removed ?? 0 } : {}),
    });
    if (direction === 'local') this.presence.working(path);
  }

  private emitEvent(event: FolderEvent): void {
    this.emit('event', event);
  }

  private indexEntries(): Map<string, IndexEntry> {
    const entries = new Map<string, IndexEntry>();
    for (const [path, value] of filesMap(this.index).entries()) {
      const entry = parseIndexEntry(value);
      if (entry) entries.set(path, entry);
      else this.log.warn({ path: path.slice(0, 200) }, 'malformed index entry ignored');
    }
    return entries;
  }

  private deleteBase(path: string): void {
    this.bases.delete(path);
    this.ownWrites.forget(path);
    for (const child of this.disk.released(path)) void this.enqueue(child, () => this.writePath(child));
  }

  /** Resolves once the local store wrote everything asked of it so far. */
  localStoreSettled(): Promise<void> {
    return this.store.settled();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.rescans.stop();
    if (this.statusTimer) clearTimeout(this.statusTimer);
    this.presence.stop();
    this.removals.stop();
    this.rechecks.clearAll();
    this.newPaths.stop();
    await this.watcher?.close();
    await this.queue.drain();
    this.git.stop();
    await this.connection.stop();
    await this.authors?.settled();
    await this.store?.close();
  }
}

/** Milliseconds since creation at each named phase, for the log lines of share and join. */
function phaseClock(): { phases: Record<string, number>; phase: (name: string) => void } {
  const started = performance.now();
  const phases: Record<string, number> = {};
  return { phases, phase: (name) => void (phases[name] = Math.round(performance.now() - started)) };
}
