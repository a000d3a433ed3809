// Keeps one folder and one project identical, both ways. This is the wiring; the work is in
// the modules it builds (DESIGN.md, "Daemon": read, decide, apply):
//
//   disk -> DiskWatcher -> PathQueue -> LocalChanges (read, decide) -> ProjectWrites -> docs -> server
//   server -> ServerConnection -> docs/index -> RemoteChanges (read, decide) -> DiskWrites -> disk
//
// Each path's work runs one at a time (the per-path queue), so a local edit and a remote edit of
// the same file never interleave. What the disk held when it last agreed with the docs is the
// path's *base*: a disk change is a diff against the base, a remote change is written only
// after any disk change since the base was folded into the doc, so both edits survive.
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import pLimit from 'p-limit';
import type { Logger } from 'pino';
import type * as Y from 'yjs';
import { filesMap, projectMap } from '../common/index-entry.js';
import { byPath } from '../common/paths-in-project.js';
import { INDEX_DOC, fileDocName } from '../common/protocol.js';
import { IgnoreRules } from '../common/ignore-rules.js';
import type { FolderEvent, FolderStatus, GuardSettings, JoinReport, ResumeReport } from '../common/control-protocol.js';
import { sha256Hex } from './file-content.js';
import { FolderWatch } from './disk-watcher.js';
import { DiskReader } from './disk-reader.js';
import { FolderPresence } from './folder-presence.js';
import { PathQueue } from './path-queue.js';
import { BranchPause } from './branch-pause.js';
import { FileDocs } from './file-docs.js';
import { syncStateOf } from './decisions.js';
import { probeFolderNaming } from './name-folding.js';
import { NameCollisions } from './name-collisions.js';
import { OwnWrites } from './own-writes.js';
import { RemovalBurst } from './removal-burst.js';
import { FolderBases } from './folder-bases.js';
import { DiskWrites } from './disk-writes.js';
import { ProjectWrites } from './project-writes.js';
import { Rescans, type RescanOptions } from './rescans.js';
import { GitWatch } from './git-watch.js';
import { BackupFolder } from './backup-folder.js';
import { Authors, newClientId } from './authorship.js';
import { DiscardGate } from './discard-gate.js';
import { DEFAULT_GUARD } from './discard-guard.js';
import { LocalStore } from './local-store.js';
import { ProjectApi } from './project-api.js';
import { FolderProblems } from './folder-problems.js';
import { FolderFeed, phaseClock, untilSaved } from './folder-feed.js';
import { REMOTE_ORIGIN, ServerConnection } from './server-connection.js';
import { knownPath, type FolderParts } from './folder-parts.js';
import { LocalChanges } from './local-changes.js';
import { RemoteChanges } from './remote-changes.js';
import { FILE_CONCURRENCY, joinFolder, shareFolder } from './folder-start.js';
import { decideHalt } from './halt-decision.js';
import { rescanFolder, resyncDrifted } from './folder-rescan.js';
import { FolderReports } from './folder-reports.js';

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
  private readonly git: GitWatch;
  private readonly presence: FolderPresence;
  private readonly reports: FolderReports;
  private readonly branchPause: BranchPause;
  private readonly clientId = newClientId();
  private store!: LocalStore;
  private feed!: FolderFeed;
  private authors!: Authors;
  private watch: FolderWatch | null = null;
  /** What the sides share (see folder-parts.ts); set by open. */
  private parts!: FolderParts;
  private local!: LocalChanges;
  private remote!: RemoteChanges;
  private readonly rescans = new Rescans({
    rescan: async (options) => {
      if (!this.stopped && !this.pausedReason) await rescanFolder(this.parts, { local: this.local, remote: this.remote }, options);
    },
    serverFiles: async () => (this.canAskServer() ? this.api.listFiles(this.spec.projectId).catch((err: unknown) => (this.log.warn({ err }, "listing the server's files failed"), null)) : null),
    compareWithServer: async (serverFiles) => void (this.canAskServer() && resyncDrifted(this.parts, serverFiles)),
  });
  private readonly queue = new PathQueue({
    before: (path) => this.readyForWork(path),
    failed: (path, err) => {
      this.log.error({ err, path }, 'sync of a path failed');
      this.reports.error(`${path}: ${(err as Error).message}`);
    },
    idle: () => this.reports.scheduleStatus(),
  });
  private readonly removals = new RemovalBurst({
    othersWaiting: () => this.parts?.gate.waitingRemovals ?? 0,
    ended: (pending) => void this.local.endRemovalBurst(pending),
  });
  /** Files open at once for the per-path work (a burst queues thousands; macOS allows 256). */
  private readonly diskIo = pLimit(FILE_CONCURRENCY * 2);
  /** Blob uploads and downloads at once: in parallel, and not thousands of sockets. */
  private readonly transfers = pLimit(FILE_CONCURRENCY);
  private readonly diskReader: DiskReader;
  private readonly problems: FolderProblems;
  private stopped = false;
  /** Following docs on the server: set by goLive (and by join, which needs the index first). */
  private live = false;
  /**
   * Writing remote changes to the disk: set by goLive. Join follows docs before, and writes
   * them itself, backing up what differs (a remote update could overwrite a file not yet saved).
   */
  private mirroring = false;

  constructor(
    readonly spec: FolderSpec,
    private readonly stateDir: string,
    private readonly log: Logger,
  ) {
    super();
    this.api = new ProjectApi(spec.serverUrl, spec.token);
    this.connection = new ServerConnection({ serverUrl: spec.serverUrl, token: spec.token, projectId: spec.projectId, log, clientId: this.clientId });
    this.git = new GitWatch(spec.root, log);
    this.presence = new FolderPresence(this.connection.awareness, spec.username, (path) => !this.parts || knownPath(this.parts, path));
    this.reports = new FolderReports({ root: spec.root, log, presence: this.presence, status: () => (this.parts ? this.status() : null), emit: (event) => this.emit('event', event) });
    this.branchPause = new BranchPause(() => this.git.branch, () => this.trackedBranch, log);
    this.diskReader = new DiskReader(spec.root, this.diskIo, (path) => this.parts.bases.get(path)?.sha256);
    const { diskIo, diskReader } = this;
    this.problems = new FolderProblems({ root: spec.root, rules: () => this.parts.rules, diskIo, diskReader, log, changed: () => this.reports.scheduleStatus(), scanRecords: () => this.store?.bases.scans ?? null });
    this.connection.on('state', () => this.reports.sendStatus());
    // Acks arrive by the thousand during a share: status is recomputed at most every 50 ms.
    this.connection.on('persisted', () => this.reports.scheduleStatus());
    this.connection.awareness.on('change', () => {
      this.learnAuthors();
      this.reports.scheduleStatus();
    });
    this.connection.on('synced', (docName) => {
      const id = this.parts?.docs.takeAwaited(docName);
      if (id) this.remote.docArrived(id);
    });
    this.connection.on('denied', (docName, reason) => this.reports.error(`${docName}: ${reason}`));
  }

  private get storeDir(): string {
    return join(this.stateDir, 'folders', sha256Hex(this.spec.root).slice(0, 16));
  }

  private get index(): Y.Doc {
    return this.parts.index;
  }

  /** The branch the project follows (the index says), or null. */
  private get trackedBranch(): string | null {
    return this.parts ? ((projectMap(this.index).get('branch') as string | undefined) ?? null) : null;
  }

  /** A file doc in memory is held against the server once the folder is live. */
  private readonly followDoc = (docName: string, doc: Y.Doc, unsaved: boolean): void => {
    if (this.live) this.connection.follow(docName, doc, unsaved);
  };

  /** Opens the local state and the rules, builds the parts (shared by every start); `phase` marks steps for the log. */
  private async open(phase = (_name: string): void => undefined): Promise<void> {
    const { root } = this.spec;
    // The walk for .gitignore files waits on the disk, as the store's reads do: both at once.
    const rulesLoaded = IgnoreRules.load(root, { logger: this.log });
    rulesLoaded.catch(() => undefined); // Awaited below; a failure of the store's open comes first.
    this.store = await LocalStore.open(this.storeDir, this.log);
    phase('store');
    const docs = new FileDocs(this.store, this.clientId, {
      follow: this.followDoc,
      unfollow: (docName) => this.connection.unfollow(docName),
      remoteChange: (id) => this.feed.remoteChange(id),
    });
    this.feed = new FolderFeed(this.connection, this.store, docs, (id) => this.remote.docChanged(id));
    await this.feed.load();
    this.authors = await Authors.load(this.storeDir, this.spec.username, this.clientId);
    const [rules, index, storedBases] = await Promise.all([rulesLoaded, this.store.loadDoc(INDEX_DOC), this.store.bases.loadAll()]);
    index.clientID = this.clientId;
    phase('loaded');
    const bases = new FolderBases(storedBases, this.store.bases);
    const ownWrites = new OwnWrites();
    const forgetBase = (path: string) => this.remote.forgetBase(path);
    const disk = new DiskWrites({
      root,
      diskIo: this.diskIo,
      transfers: this.transfers,
      downloadBlob: (sha256) => this.api.downloadBlob(this.spec.projectId, sha256),
      docs,
      bases,
      ownWrites,
      files: () => filesMap(index),
      written: (path, stats, bytes, sha256) => this.problems.noteWritten(path, stats, bytes, sha256),
    });
    const writes = new ProjectWrites({
      root,
      index,
      docs,
      bases,
      forgetBase,
      isSynced: (docName) => this.connection.isSynced(docName),
      requestSync: (docName) => this.connection.requestSync(docName),
      uploadBlob: (sha256, bytes) => this.transfers(() => this.api.uploadBlob(this.spec.projectId, sha256, bytes)),
      activity: (action, path, extra) => this.reports.activity('local', action, path, extra),
    });
    await this.git.start();
    this.parts = {
      root,
      log: this.log,
      index,
      docs,
      bases,
      rules,
      diskReader: this.diskReader,
      ownWrites,
      disk,
      writes,
      problems: this.problems,
      gate: this.discardGate(index),
      removals: this.removals,
      collisions: await this.nameCollisions(index),
      connection: this.connection,
      forgetBase,
      enqueue: (path, work) => this.enqueue(path, work),
      mirroring: () => this.mirroring,
      stopped: () => this.stopped,
      activity: (direction, action, path, extra) => this.reports.activity(direction, action, path, extra),
      event: (event) => this.emit('event', event),
    };
    this.wireChanges();
    phase('opened');
  }

  /** The two directions of change over the parts: the project's onto the disk, the disk's into the project. */
  private wireChanges(): void {
    this.remote = new RemoteChanges(this.parts, {
      shareLocal: (path) => this.local.applyDiskChange(path),
      admitted: (path, entry, bytes) => this.local.admitted(path, entry, bytes),
      wrote: (path) => this.local.wrote(path),
    });
    this.local = new LocalChanges(this.parts, {
      diskIo: this.diskIo,
      rewatch: (path) => this.watch?.rewatch(path),
      reconcile: () => this.reconcile(),
      rulesChanged: async () => {
        await this.watch?.rulesChanged();
        await this.reconcile();
      },
      followProject: (path) => this.remote.writePath(path),
      stillReady: (path) => this.readyForWork(path),
    });
  }

  /** Project paths not written here: another path is the same name on this file system. */
  private async nameCollisions(index: Y.Doc): Promise<NameCollisions> {
    const naming = await probeFolderNaming(this.spec.root, process.env.CODESHARE_FOLDER_NAMING);
    return new NameCollisions(naming, filesMap(index), this.log, {
      freed: (path) => {
        if (this.mirroring) void this.enqueue(path, () => this.remote.writePath(path));
      },
      changed: () => this.reports.scheduleStatus(),
    });
  }

  private discardGate(index: Y.Doc): DiscardGate {
    return new DiscardGate({
      authors: this.authors,
      committed: this.git.committed,
      files: () => filesMap(index),
      projectFiles: () => filesMap(index).size,
      signalsSince: (since) => this.git.signalsSince(since),
      burstStartedAt: () => this.removals.startedAt,
      settings: () => this.spec.guard ?? DEFAULT_GUARD,
      log: this.log,
      changed: () => this.reports.sendStatus(),
    });
  }

  /** Teammates' presence names their client ids (see authorship.ts). */
  private learnAuthors(): void {
    if (!this.authors) return;
    for (const [clientId, name] of this.presence.names()) this.authors.learn(clientId, name);
  }

  // ---------------------------------------------------------------------------------------
  // Starting: share, join, resume (see folder-start.ts)

  /** A folder becomes the project's content: every file is uploaded. */
  async share(): Promise<void> {
    const { phases, phase } = phaseClock();
    await this.open();
    phase('opened');
    const { files, position } = await shareFolder(this.parts, {
      uploadBlob: (sha256, bytes) => this.api.uploadBlob(this.spec.projectId, sha256, bytes),
      storeUpdates: (body) => this.api.storeUpdates(this.spec.projectId, body),
      branch: this.git.branch,
    });
    // The project was made by this share: nobody else has written to it yet, so every update up
    // to this position is one of the uploaded docs, already in the store. The feed starts after
    // them rather than sending the whole folder back.
    this.connection.setFeedPosition(position);
    phase('docsMade');
    await this.goLive({ checkEveryPath: false });
    phase('live');
    await this.waitUntilSaved((saved, total) => this.emit('event', { type: 'progress', root: this.spec.root, phase: 'upload', done: saved, total }));
    phase('saved');
    this.log.info({ files, ms: phases }, 'shared');
  }

  /** A project is mirrored into the folder; local files that differ are backed up first. */
  async join(options: { keepLocal: boolean }): Promise<JoinReport> {
    const { phases, phase } = phaseClock();
    await this.open();
    phase('opened');
    this.live = true;
    this.followIndex();
    this.connection.start();
    // The whole project arrives by the feed's catch-up, into the store.
    await this.connection.whenCaughtUp();
    phase('caughtUp');
    const report = await joinFolder(this.parts, {
      local: this.local,
      remote: this.remote,
      backups: new BackupFolder(this.stateDir, this.spec.projectName, ''),
      branch: this.git.branch,
      keepLocal: options.keepLocal,
    });
    phase('written');
    await this.goLive({ checkEveryPath: false });
    phase('live');
    this.log.info({ files: filesMap(this.index).size, ms: phases }, 'joined');
    return report;
  }

  /** The daemon restarted: local state is loaded, edits made meanwhile are found and synced. */
  async resume(): Promise<void> {
    const { phases, phase } = phaseClock();
    await this.open(phase);
    // A teammate's change stored before a crash may not have reached the disk: its doc is marked, the
    // rescan writes it. A store from before the marks gets one look at every path (29 s for 40,000 files).
    const checkEveryPath = !this.store.tracksUnwritten;
    await this.goLive({ checkEveryPath }, phase);
    this.store.noteTracksUnwritten();
    this.log.info({ files: filesMap(this.index).size, checkEveryPath, ms: phases }, 'resumed');
  }

  /**
   * Connects, follows every doc, watches the disk, reconciles what changed meanwhile.
   * `checkEveryPath`: compare every path with its doc, not only the paths known to differ.
   */
  private async goLive({ checkEveryPath }: { checkEveryPath: boolean }, phase = (_name: string): void => undefined): Promise<void> {
    this.live = true;
    this.mirroring = true;
    this.followIndex();
    for (const [id, doc] of this.parts.docs.entries()) this.connection.follow(fileDocName(id), doc, this.parts.docs.isUnsaved(id));
    // Docs left unacknowledged by the last run go out again.
    await Promise.all(this.parts.docs.unsavedIds().map((id) => this.parts.docs.ensure(id)));
    if (this.connection.state === 'offline') this.connection.start();
    this.index.on('update', this.onIndexUpdate);
    filesMap(this.index).observe(this.remote.onFilesChanged);
    this.git.on('change', () => void this.checkBranch());
    await this.checkBranch();
    this.watch = new FolderWatch({
      root: this.spec.root,
      rules: this.parts.rules,
      log: this.log,
      event: (event) => this.local.onWatcherEvent(event),
      failed: (message) => {
        this.reports.error(message);
        this.reports.sendStatus();
      },
    });
    await this.watch.start();
    phase('watching');
    void this.store.listStoredDocs().then(() => this.reports.scheduleStatus());
    await this.reconcile({ checkEveryPath });
    phase('reconciled');
    this.rescans.start();
    this.presence.announce(this.git.branch);
    this.reports.sendStatus();
  }

  private followIndex(): void {
    this.connection.follow(INDEX_DOC, this.index, this.store.isMarkedUnsaved(INDEX_DOC));
  }

  /** Resolves once the server stored everything this folder holds. */
  waitUntilSaved(progress?: (saved: number, total: number) => void): Promise<void> {
    return untilSaved(this.connection, this.parts.docs.size + 1, progress);
  }

  /** Runs `work` after the path's earlier work (see path-queue.ts). */
  private enqueue(path: string, work: () => Promise<void>): Promise<void> {
    return this.queue.run(path, work);
  }

  /** Before each path's work: git must be done rewriting, and the folder on the tracked branch. */
  private async readyForWork(path: string): Promise<boolean> {
    if (this.stopped) return false;
    await this.git.settled();
    if (this.branchPause.pauseIfOffBranch()) this.reports.sendStatus();
    if (!this.pausedReason) return true;
    // Resuming reconciles the whole folder, which finds what is still there.
    this.local.skipped(path);
    return false;
  }

  /** The user's decision on a halted burst (see halt-decision.ts). */
  decideHalt({ restore }: { restore: boolean }): Promise<ResumeReport> {
    const backups = (label: string) => new BackupFolder(this.stateDir, this.spec.projectName, label);
    const deps = { local: this.local, remote: this.remote, backups, pausedReason: this.pausedReason, reconcile: () => this.reconcile() };
    return decideHalt(this.parts, deps, { restore });
  }

  /** Changes the size rule of the discard guard (null: the default). */
  setGuard(settings: GuardSettings | null): void {
    if (settings) this.spec.guard = settings;
    else delete this.spec.guard;
    this.reports.sendStatus();
  }

  // ---------------------------------------------------------------------------------------
  // Reconciliation, git, status

  /**
   * Compares the whole folder with the bases and the index: catches what the watcher missed,
   * edits made while offline or stopped, and remote changes not yet written.
   */
  reconcile(options: RescanOptions = {}): Promise<void> {
    return this.rescans.request(options);
  }

  private readonly onIndexUpdate = (_update: Uint8Array, origin: unknown) => {
    if (origin === REMOTE_ORIGIN) this.checkBranch().catch(() => undefined);
  };

  private async checkBranch(): Promise<void> {
    const change = this.branchPause.update();
    if (change !== 'unchanged') this.reports.sendStatus();
    if (change === 'resumed') await this.reconcile();
    if (this.branchPause.onTrackedBranch) await this.git.recordNewCommits(this.api, this.spec.projectId).catch(() => undefined);
    this.presence.announce(this.git.branch);
  }

  /** The full check's questions to the server (see rescans.ts) are asked only while syncing online. */
  private readonly canAskServer = () => !this.stopped && !this.pausedReason && this.connection.state === 'online';

  /** Why the folder does not sync now (a branch switch), or null. */
  private get pausedReason(): string | null {
    return this.branchPause.reason;
  }

  status(): FolderStatus {
    const { state: connection, unsavedCount: unsaved } = this.connection;
    const pending = this.queue.busy > 0 || (this.local?.waiting ?? 0) > 0 || this.removals.deciding;
    const gate = this.parts?.gate;
    const state = syncStateOf({ paused: this.pausedReason !== null || gate?.halted === true, connection, unsaved, pending });
    const { root, projectId, projectName, serverUrl } = this.spec;
    return {
      root, projectId, projectName, serverUrl, state,
      unsaved,
      connection,
      pausedReason: this.pausedReason ?? gate?.reason ?? null,
      branch: this.git.branch,
      trackedBranch: this.trackedBranch,
      files: this.parts ? filesMap(this.index).size : 0,
      peers: this.presence.peers(),
      problems: [...this.problems.values(), ...(this.parts?.collisions.problems() ?? [])].sort(byPath),
      halt: gate?.status ?? null,
      guard: this.spec.guard ?? DEFAULT_GUARD,
      watcher: { backend: this.watch?.backend ?? null, problem: this.watch?.problem ?? null },
      docs: { inMemory: (this.parts?.docs.size ?? 0) + 1, stored: this.store?.docCount ?? null },
    };
  }

  /** Resolves once the local store wrote everything asked of it so far. */
  localStoreSettled(): Promise<void> {
    return this.store.settled();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.rescans.stop();
    this.reports.stop();
    this.presence.stop();
    this.removals.stop();
    this.local?.stop();
    await this.watch?.close();
    await this.queue.drain();
    this.parts?.docs.stop();
    this.git.stop();
    await this.connection.stop();
    await this.authors?.settled();
    await this.store?.close();
  }
}
