// Fan-out between server instances on Redis Streams (DESIGN.md, Scale-out; the design of
// y-redis). One stream per project: after an append commits, the instance adds one entry with
// the rows' project_seq range and their updates; each instance reads, with one blocking
// XREAD, the streams of the projects it serves, plus a control stream (access changes,
// instances leaving).
//
// Redis is not trusted for delivery. Per followed project this instance knows the feed number
// up to which it has received everything (SeqRanges). A hole (an entry missed, a trimmed
// stream, a Redis restart, an instance killed between its commit and its XADD) is read from
// PostgreSQL: at once when the entries after it arrive and the hole stays open for a moment
// (another instance's entry may just be late), and by a periodic comparison with the stored
// feed positions, one query for all followed projects, which also catches a hole nothing
// follows. Yjs updates are idempotent, so what arrives twice is harmless.
import type { FastifyBaseLogger as Logger } from 'fastify';
import { Redis } from 'ioredis';
import type { FeedRow } from '../rooms/doc-store.js';
import type { Fanout, FanoutHealth, FanoutMessage, StoredUpdate } from '../rooms/fanout.js';
import { SeqRanges, type SeqRange } from '../rooms/seq-ranges.js';
import { decodeControlEntry, decodeProjectEntry, encodeControlEntry, encodeProjectEntry, type ProjectEntry } from './stream-entries.js';

export interface FanoutStore {
  feedPositions(projectIds: readonly string[]): Promise<Map<string, number>>;
  feedRows(projectId: string, after: number, upto: number, limit: number): Promise<FeedRow[]>;
  feedSnapshots(projectId: string, since: number, afterDoc: string, limit: number): Promise<{ doc_name: string; state: Uint8Array }[]>;
}

export interface StreamLimits {
  /** Entries a project's stream keeps (approximately: trimmed with ~). */
  maxLen: number;
  /** Entries older than this are trimmed, and a stream nobody writes to expires. */
  maxAgeMs: number;
  /** A hole this long is read from PostgreSQL instead of waited for. */
  gapWaitMs: number;
  /** How often the followed projects' stored positions are compared with what arrived. */
  checkEveryMs: number;
  /** Updates larger than this together go as a range only; receivers read them from PostgreSQL. */
  inlineBytes: number;
}

export const defaultStreamLimits: StreamLimits = {
  maxLen: 10_000,
  maxAgeMs: 60 * 60 * 1000,
  gapWaitMs: 300,
  checkEveryMs: 5_000,
  inlineBytes: 512 * 1024,
};

export const CONTROL_STREAM = 'codeshare:control';
export const PROJECT_STREAM_PREFIX = 'codeshare:project:';
const projectStream = (projectId: string) => PROJECT_STREAM_PREFIX + projectId;

/** Longest a read blocks: an idle instance sends one command per this, not a loop. */
const BLOCK_MS = 10_000;
const READ_COUNT = 1_000;
const CATCH_UP_PAGE = 500;

class FollowedProject {
  refs = 0;
  /** The stream entry read up to; null until known (Redis was down when following began). */
  lastId: string | null = null;
  /** Feed numbers received; null until the stored position was read. */
  received: SeqRanges | null = null;
  /** The stored position last seen, when ahead of what arrived. */
  knownStored = 0;
  gapTimer: NodeJS.Timeout | null = null;
  filling = false;
  ready: Promise<void> = Promise.resolve();
}

export class RedisFanout implements Fanout {
  /** Commands: publishing, trimming, the heartbeat. Never queued while Redis is down. */
  readonly redis: Redis;
  /** The blocking reads, on a connection of their own. */
  private readonly reader: Redis;
  private readonly handlers = new Set<(message: FanoutMessage) => void>();
  private readonly projects = new Map<string, FollowedProject>();
  private readonly lastTrim = new Map<string, number>();
  private controlId: string | null = null;
  private readerClientId: number | null = null;
  private readIteration = 0;
  private resyncNeeded = true;
  private lastError: string | null = null;
  private down = false;
  private closed = false;
  private deliveredCount = 0;
  private checkTimer: NodeJS.Timeout | null = null;
  private loop: Promise<void> = Promise.resolve();
  readonly limits: StreamLimits;

  constructor(
    url: string,
    private readonly instanceId: string,
    private readonly store: FanoutStore,
    private readonly log: Logger,
    limits: Partial<StreamLimits> = {},
  ) {
    this.limits = { ...defaultStreamLimits, ...limits };
    const options = {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: (attempt: number) => Math.min(200 * attempt, 2_000),
    };
    this.redis = new Redis(url, { ...options, enableAutoPipelining: true, connectionName: `codeshare:${instanceId}` });
    this.reader = new Redis(url, { ...options, connectionName: `codeshare-reader:${instanceId}` });
    for (const connection of [this.redis, this.reader]) {
      connection.on('error', (err: Error) => this.markDown(err));
      connection.on('ready', () => this.markUp());
    }
    this.reader.on('ready', () => {
      this.resyncNeeded = true;
      void this.reader.client('ID').then((id) => (this.readerClientId = Number(id)), () => undefined);
    });
  }

  /**
   * Waits a moment for Redis, then reads. A server whose Redis is down still starts: it serves
   * its own clients and says so (health(), the log) until Redis is there.
   */
  async start(): Promise<void> {
    const connected = Promise.all([this.redis, this.reader].map((connection) => (connection.status === 'ready' ? undefined : new Promise((resolve) => connection.once('ready', resolve)))));
    const timeout = new Promise((resolve) => setTimeout(resolve, 5_000).unref());
    await Promise.race([connected, timeout]);
    this.checkTimer = setInterval(() => void this.checkStored(), this.limits.checkEveryMs);
    this.checkTimer.unref();
    if (this.redis.status !== 'ready' || this.reader.status !== 'ready') this.markDown(new Error(`could not reach Redis (${this.lastError ?? this.redis.status})`));
    this.loop = this.readLoop();
  }

  health(): FanoutHealth {
    const ok = this.redis.status === 'ready' && this.reader.status === 'ready';
    return ok ? { kind: 'redis', ok } : { kind: 'redis', ok, error: this.lastError ?? `redis connection ${this.redis.status}` };
  }

  subscribe(handler: (message: FanoutMessage) => void): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  private emit(message: FanoutMessage): void {
    for (const handler of this.handlers) handler(message);
  }

  publish(message: FanoutMessage): void {
    switch (message.kind) {
      case 'committed': {
        // Only stored updates cross instances; one never stored has nothing to announce.
        if (!message.range) return;
        const bytes = message.updates.reduce((sum, u) => sum + u.update.byteLength, 0);
        const updates = bytes <= this.limits.inlineBytes ? message.updates : null;
        this.add(projectStream(message.projectId), encodeProjectEntry({ kind: 'committed', instanceId: this.instanceId, ...message.range, updates }));
        return;
      }
      case 'awareness':
        this.add(projectStream(message.projectId), encodeProjectEntry({ kind: 'awareness', instanceId: this.instanceId, update: message.update }));
        return;
      case 'presence-query':
        this.add(projectStream(message.projectId), encodeProjectEntry({ kind: 'presence-query', instanceId: this.instanceId }));
        return;
      case 'access-changed': {
        const { projectId = null, userId = null, tokenId = null } = message.match;
        this.add(CONTROL_STREAM, encodeControlEntry({ kind: 'access-changed', instanceId: this.instanceId, projectId, userId, tokenId }));
        return;
      }
      default:
        // 'update' before it is stored stays in this process; 'instance-gone' is local news.
        return;
    }
  }

  /** Tells the others this instance stops serving, before its sockets close. */
  async announceLeaving(): Promise<void> {
    if (this.redis.status !== 'ready') return;
    await this.redis
      .xadd(CONTROL_STREAM, 'MAXLEN', '~', this.limits.maxLen, '*', 'm', asBuffer(encodeControlEntry({ kind: 'leaving', instanceId: this.instanceId })))
      .catch((err: unknown) => this.markDown(err));
  }

  private add(key: string, entry: Uint8Array): void {
    // Down: the entry is lost here, and the receivers read its rows from PostgreSQL.
    if (this.redis.status !== 'ready') return;
    this.redis.xadd(key, 'MAXLEN', '~', this.limits.maxLen, '*', 'm', asBuffer(entry)).catch((err: unknown) => this.markDown(err));
    const now = Date.now();
    if (now - (this.lastTrim.get(key) ?? 0) < 10_000) return;
    this.lastTrim.set(key, now);
    this.redis.xtrim(key, 'MINID', '~', now - this.limits.maxAgeMs).catch((err: unknown) => this.markDown(err));
    this.redis.pexpire(key, this.limits.maxAgeMs).catch((err: unknown) => this.markDown(err));
  }

  async follow(projectId: string): Promise<void> {
    let project = this.projects.get(projectId);
    if (!project) {
      project = new FollowedProject();
      this.projects.set(projectId, project);
      project.ready = this.startFollowing(projectId, project);
    }
    project.refs++;
    try {
      await project.ready;
    } catch (err) {
      this.unfollow(projectId);
      throw err;
    }
  }

  isFollowing(projectId: string): boolean {
    return this.projects.has(projectId);
  }

  unfollow(projectId: string): void {
    const project = this.projects.get(projectId);
    if (!project || --project.refs > 0) return;
    if (project.gapTimer) clearTimeout(project.gapTimer);
    this.projects.delete(projectId);
  }

  /**
   * The stream's last entry first, then the stored position: an update committed before the
   * position was read is stored (a room loads it, a feed reads it), one committed after it is
   * added to the stream after that entry, so read.
   */
  private async startFollowing(projectId: string, project: FollowedProject): Promise<void> {
    project.lastId = await this.lastEntryId(projectStream(projectId)).catch(() => null);
    const stored = await this.store.feedPositions([projectId]);
    project.received = new SeqRanges(stored.get(projectId) ?? 0);
    this.wakeReader();
  }

  private async lastEntryId(key: string): Promise<string> {
    const last = (await this.redis.xrevrange(key, '+', '-', 'COUNT', 1)) as [string, string[]][];
    return last[0]?.[0] ?? '0-0';
  }

  /** A blocked read does not see a stream followed since: it is woken to read again. */
  private wakeReader(): void {
    const iteration = this.readIteration;
    const unblock = () => {
      if (this.readIteration !== iteration || this.readerClientId === null || this.redis.status !== 'ready') return;
      this.redis.client('UNBLOCK', this.readerClientId).catch(() => undefined);
    };
    // The read may not have reached Redis yet when the first unblock does: try again shortly.
    unblock();
    setTimeout(unblock, 20).unref();
    setTimeout(unblock, 200).unref();
  }

  private async readLoop(): Promise<void> {
    while (!this.closed) {
      this.readIteration++;
      try {
        if (this.resyncNeeded) await this.resync();
        const streams: [string, string][] = [[CONTROL_STREAM, this.controlId ?? '$']];
        for (const [projectId, project] of this.projects) if (project.lastId !== null) streams.push([projectStream(projectId), project.lastId]);
        const reply = (await this.reader.callBuffer(
          'XREAD', 'COUNT', READ_COUNT, 'BLOCK', BLOCK_MS, 'STREAMS', ...streams.map(([key]) => key), ...streams.map(([, id]) => id),
        )) as [Buffer, [Buffer, Buffer[]][]][] | null;
        for (const [key, entries] of reply ?? []) this.handleEntries(key.toString(), entries);
      } catch (err) {
        if (this.closed) return;
        this.markDown(err);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  /**
   * After a connection (a Redis restart empties every stream, and ids start again): read each
   * stream from its last entry now, and compare every followed project with PostgreSQL.
   */
  private async resync(): Promise<void> {
    this.controlId = await this.lastEntryId(CONTROL_STREAM);
    for (const [projectId, project] of this.projects) project.lastId = await this.lastEntryId(projectStream(projectId));
    this.resyncNeeded = false;
    await this.checkStored();
  }

  private handleEntries(key: string, entries: [Buffer, Buffer[]][]): void {
    const isControl = key === CONTROL_STREAM;
    const projectId = key.slice(PROJECT_STREAM_PREFIX.length);
    for (const [rawId, fields] of entries) {
      const id = rawId.toString();
      const bytes = fields[1];
      try {
        if (isControl) {
          this.controlId = id;
          if (bytes) this.handleControl(bytes);
          continue;
        }
        const project = this.projects.get(projectId);
        if (!project) continue;
        project.lastId = id;
        if (bytes) this.handleProjectEntry(projectId, project, decodeProjectEntry(bytes));
      } catch (err) {
        this.log.warn({ err, key, id }, 'a stream entry could not be read; skipped');
      }
    }
  }

  private handleControl(bytes: Buffer): void {
    const entry = decodeControlEntry(bytes);
    if (entry.instanceId === this.instanceId) return;
    if (entry.kind === 'leaving') {
      this.emit({ kind: 'instance-gone', instanceId: entry.instanceId });
      return;
    }
    const match = {
      ...(entry.projectId ? { projectId: entry.projectId } : {}),
      ...(entry.userId ? { userId: entry.userId } : {}),
      ...(entry.tokenId ? { tokenId: entry.tokenId } : {}),
    };
    this.emit({ kind: 'access-changed', instanceId: entry.instanceId, match });
  }

  private handleProjectEntry(projectId: string, project: FollowedProject, entry: ProjectEntry): void {
    if (entry.kind !== 'committed') {
      if (entry.instanceId !== this.instanceId) this.emit({ ...entry, projectId });
      return;
    }
    const received = project.received;
    if (!received || entry.to <= received.position) return;
    if (!entry.updates) {
      // Too large for Redis: its rows are read from PostgreSQL, now.
      project.knownStored = Math.max(project.knownStored, entry.to);
      this.scheduleFill(projectId, project, 0);
      return;
    }
    if (entry.instanceId !== this.instanceId) this.deliver(projectId, entry.instanceId, entry.updates, entry);
    received.add(entry);
    if (this.missing(project)) this.scheduleFill(projectId, project, this.limits.gapWaitMs);
  }

  /** Stored updates to the rooms and feeds here: each as `update`, then the range as `committed`. */
  private deliver(projectId: string, instanceId: string, updates: readonly StoredUpdate[], range: SeqRange): void {
    const ids = updates.map(({ docName, update, userId }) => {
      const id = `${instanceId}:${projectId}:${++this.deliveredCount}`;
      this.emit({ kind: 'update', instanceId, projectId, docName, update, id, userId, stored: true });
      return id;
    });
    this.emit({ kind: 'committed', instanceId, projectId, ids, range: { from: range.from, to: range.to }, updates: [] });
  }

  /** The numbers stored but not received, up to the last one known. */
  private missing(project: FollowedProject): SeqRange | null {
    const received = project.received;
    if (!received) return null;
    const upto = Math.max(received.hole?.to ?? 0, project.knownStored);
    return upto > received.position ? { from: received.position + 1, to: upto } : null;
  }

  private scheduleFill(projectId: string, project: FollowedProject, waitMs: number): void {
    if (project.gapTimer || project.filling) return;
    project.gapTimer = setTimeout(() => {
      project.gapTimer = null;
      void this.fill(projectId, project);
    }, waitMs);
    project.gapTimer.unref();
  }

  /** Reads what is missing from the update log (and the snapshots of docs compacted since). */
  private async fill(projectId: string, project: FollowedProject): Promise<void> {
    const missing = this.missing(project);
    if (!missing || this.projects.get(projectId) !== project) return;
    project.filling = true;
    let retryMs = this.limits.gapWaitMs;
    try {
      const updates: StoredUpdate[] = [];
      for (let after = missing.from - 1; after < missing.to; ) {
        const rows = await this.store.feedRows(projectId, after, missing.to, CATCH_UP_PAGE);
        if (rows.length === 0) break;
        for (const row of rows) updates.push({ docName: row.doc_name, update: row.update, userId: row.user_id });
        after = rows.at(-1)!.project_seq;
      }
      for (let afterDoc = ''; ; ) {
        const snapshots = await this.store.feedSnapshots(projectId, missing.from - 1, afterDoc, CATCH_UP_PAGE);
        if (snapshots.length === 0) break;
        for (const snapshot of snapshots) updates.push({ docName: snapshot.doc_name, update: snapshot.state, userId: null });
        afterDoc = snapshots.at(-1)!.doc_name;
      }
      this.log.info({ projectId, from: missing.from, to: missing.to, updates: updates.length }, 'caught up a hole in the project stream from the update log');
      if (this.projects.get(projectId) === project) {
        this.deliver(projectId, 'catch-up', updates, missing);
        project.received?.add(missing);
      }
    } catch (err) {
      this.log.warn({ err, projectId }, 'reading a hole of the project stream from the update log failed; trying again');
      retryMs = this.limits.checkEveryMs;
    } finally {
      project.filling = false;
      if (this.missing(project) && this.projects.get(projectId) === project) this.scheduleFill(projectId, project, retryMs);
    }
  }

  /** One query for every followed project: a stored position past what arrived is a hole. */
  private async checkStored(): Promise<void> {
    const followed = [...this.projects].filter(([, project]) => project.received !== null);
    if (followed.length === 0) return;
    let stored: Map<string, number>;
    try {
      stored = await this.store.feedPositions(followed.map(([projectId]) => projectId));
    } catch (err) {
      this.log.warn({ err }, 'reading the stored feed positions failed');
      return;
    }
    for (const [projectId, project] of followed) {
      const seq = stored.get(projectId) ?? 0;
      if (seq <= (project.received?.position ?? seq)) continue;
      project.knownStored = Math.max(project.knownStored, seq);
      this.scheduleFill(projectId, project, this.limits.gapWaitMs);
    }
  }

  /** Something other than Redis may have lost entries (an instance died): compare now. */
  checkSoon(): void {
    void this.checkStored();
  }

  private markDown(err: unknown): void {
    this.lastError = err instanceof Error ? err.message : String(err);
    // Before start() the connections are still being made: not news.
    if (this.down || this.closed || !this.checkTimer) return;
    this.down = true;
    this.log.error({ err }, "Redis is unavailable: serving this instance's own clients; other instances' changes arrive from PostgreSQL until it is back");
  }

  private markUp(): void {
    if (!this.down || this.redis.status !== 'ready' || this.reader.status !== 'ready') return;
    this.down = false;
    this.lastError = null;
    this.log.info('Redis is back: catching up from PostgreSQL');
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.checkTimer) clearInterval(this.checkTimer);
    for (const project of this.projects.values()) if (project.gapTimer) clearTimeout(project.gapTimer);
    this.reader.disconnect();
    await this.loop;
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

const asBuffer = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
