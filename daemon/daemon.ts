// The daemon process: one per CODESHARE_HOME. It owns the synced folders, answers the CLI on
// its control socket, logs to a file, and brings its folders back after a restart.
import { chmod, mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { basename, join, resolve, sep } from 'node:path';
import pino, { type Logger } from 'pino';
import type { FolderEvent } from '../common/control-protocol.js';
import { FolderMirror, type FolderSpec } from './folder-mirror.js';
import { collectGarbageWhenQuiet } from '../common/idle-gc.js';
import {
  FOLDERS_FILE,
  LOG_NAME,
  SOCKET_NAME,
  type ControlMethod,
  type ControlMethods,
  type ControlRequest,
  type DaemonMemory,
} from '../common/control-protocol.js';
import { ProjectApi, ProjectApiError } from './project-api.js';
import type { GuardSettings } from '../common/control-protocol.js';
import { isInside } from '../common/fs-helpers.js';

const VERSION = '0.1.0';

export class Daemon {
  private readonly folders = new Map<string, FolderMirror>();
  private readonly subscribers = new Map<Socket, string | undefined>();
  private server: Server | null = null;
  private readonly startedAt = new Date().toISOString();
  private stopping = false;

  constructor(
    private readonly stateDir: string,
    private readonly log: Logger,
  ) {}

  get socketPath(): string {
    return join(this.stateDir, SOCKET_NAME);
  }

  async start(): Promise<void> {
    await mkdir(this.stateDir, { recursive: true, mode: 0o700 });
    await unlink(this.socketPath).catch(() => undefined);
    this.server = createServer((socket) => this.onConnection(socket));
    await new Promise<void>((resolveListen, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.socketPath, () => resolveListen());
    });
    await chmod(this.socketPath, 0o600);
    this.log.info({ pid: process.pid, socket: this.socketPath }, 'daemon started');
    for (const spec of await this.loadFolderSpecs()) {
      const mirror = this.createMirror(spec);
      mirror.resume().then(() => mirror.localStoreSettled()).then(collectGarbageWhenQuiet, (err: unknown) => {
        this.log.error({ err, root: spec.root }, 'resuming a folder failed');
        this.broadcast({ type: 'error', root: spec.root, message: `could not resume: ${(err as Error).message}` });
      });
    }
  }

  private onConnection(socket: Socket): void {
    let buffer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      if (buffer.length > 1024 * 1024) {
        socket.destroy();
        return;
      }
      for (let newline = buffer.indexOf('\n'); newline !== -1; newline = buffer.indexOf('\n')) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (line) void this.handleLine(socket, line);
      }
    });
    socket.on('close', () => this.subscribers.delete(socket));
    socket.on('error', () => this.subscribers.delete(socket));
  }

  private async handleLine(socket: Socket, line: string): Promise<void> {
    let request: ControlRequest;
    try {
      request = JSON.parse(line) as ControlRequest;
      if (typeof request.id !== 'number' || typeof request.method !== 'string') throw new Error('not a request');
    } catch {
      this.write(socket, { id: -1, error: { message: 'invalid request: expected one JSON object per line' } });
      return;
    }
    try {
      const result = await this.dispatch(socket, request.method, (request.params ?? {}) as never);
      this.write(socket, { id: request.id, result });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.log.warn({ method: request.method, err: message }, 'control request failed');
      this.write(socket, { id: request.id, error: { message } });
    }
  }

  private async dispatch<M extends ControlMethod>(
    socket: Socket,
    method: M,
    params: ControlMethods[M]['params'],
  ): Promise<ControlMethods[ControlMethod]['result']> {
    switch (method) {
      case 'ping':
        return { pid: process.pid, startedAt: this.startedAt, version: VERSION, memory: daemonMemory() };
      case 'status':
        return {
          pid: process.pid,
          startedAt: this.startedAt,
          logFile: join(this.stateDir, LOG_NAME),
          folders: [...this.folders.values()].map((m) => m.status()),
        };
      case 'share':
        return this.share(params as ControlMethods['share']['params']);
      case 'join':
        return this.join(params as ControlMethods['join']['params']);
      case 'leave':
        return this.leave((params as ControlMethods['leave']['params']).root);
      case 'resume': {
        const { root, restore } = params as ControlMethods['resume']['params'];
        if (typeof restore !== 'boolean') throw new Error('resume: restore must be true or false');
        return this.mirrorContaining(root).decideHalt({ restore });
      }
      case 'guard':
        return this.guard(params as ControlMethods['guard']['params']);
      case 'subscribe':
        this.subscribers.set(socket, (params as ControlMethods['subscribe']['params']).root);
        return { subscribed: true };
      case 'stop':
        setImmediate(() => void this.stop().then(() => process.exit(0)));
        return { stopping: true };
      default:
        throw new Error(`unknown method ${String(method)}`);
    }
  }

  private checkRoot(root: string): string {
    const absolute = resolve(root);
    for (const other of this.folders.keys()) {
      if (other === absolute) throw new Error(`${absolute} is already synced; \`codeshare leave\` it first`);
      if (absolute.startsWith(other + sep) || other.startsWith(absolute + sep)) {
        throw new Error(`${absolute} overlaps ${other}, which is already synced`);
      }
    }
    return absolute;
  }

  private async share(params: ControlMethods['share']['params']): Promise<ControlMethods['share']['result']> {
    const root = this.checkRoot(params.root);
    const api = new ProjectApi(params.serverUrl, params.token);
    const name = params.name || basename(root);
    let project;
    try {
      project = await api.createProject(name, params.visibility);
    } catch (err) {
      if (err instanceof ProjectApiError && err.status === 409) {
        throw new Error(`you already have a project named ${name}: pick another with --name, or join it with \`codeshare join\``);
      }
      throw err;
    }
    const spec: FolderSpec = {
      root,
      projectId: project.id,
      projectName: project.fullName,
      serverUrl: params.serverUrl,
      token: params.token,
      username: params.username,
    };
    const mirror = this.createMirror(spec);
    try {
      await mirror.share();
    } catch (err) {
      await this.dropMirror(root);
      throw err;
    }
    void mirror.localStoreSettled().then(collectGarbageWhenQuiet);
    await this.saveFolderSpecs();
    return { projectId: project.id, fullName: project.fullName, files: mirror.status().files };
  }

  private async join(params: ControlMethods['join']['params']): Promise<ControlMethods['join']['result']> {
    const root = this.checkRoot(params.root);
    await mkdir(root, { recursive: true });
    const api = new ProjectApi(params.serverUrl, params.token);
    const project = await api.getProject(params.project).catch((err: unknown) => {
      if (err instanceof ProjectApiError && err.status === 404) {
        throw new Error(`no project ${params.project} that you can see: check the name, or ask its owner to add you`);
      }
      throw err;
    });
    const spec: FolderSpec = {
      root,
      projectId: project.id,
      projectName: project.fullName,
      serverUrl: params.serverUrl,
      token: params.token,
      username: params.username,
    };
    const mirror = this.createMirror(spec);
    let report;
    try {
      report = await mirror.join({ keepLocal: params.keepLocal });
    } catch (err) {
      await this.dropMirror(root);
      throw err;
    }
    void mirror.localStoreSettled().then(collectGarbageWhenQuiet);
    await this.saveFolderSpecs();
    return { projectId: project.id, fullName: project.fullName, files: mirror.status().files, report };
  }

  private async leave(root: string): Promise<ControlMethods['leave']['result']> {
    const absolute = resolve(root);
    if (!this.folders.has(absolute)) return { root: absolute, left: false };
    await this.dropMirror(absolute);
    await this.saveFolderSpecs();
    return { root: absolute, left: true };
  }

  /** The synced folder holding `path` (the folder itself, or a folder inside it). */
  private mirrorContaining(path: unknown): FolderMirror {
    if (typeof path !== 'string' || path === '') throw new Error('expected the path of a synced folder');
    const absolute = resolve(path);
    for (const [root, mirror] of this.folders) if (isInside(root, absolute)) return mirror;
    throw new Error(`${absolute} is not in a synced folder (see \`codeshare status\`)`);
  }

  private async guard({ root, settings }: ControlMethods['guard']['params']): Promise<ControlMethods['guard']['result']> {
    const mirror = this.mirrorContaining(root);
    if (settings !== undefined) {
      mirror.setGuard(checkGuardSettings(settings));
      await this.saveFolderSpecs();
    }
    return { root: mirror.spec.root, guard: mirror.status().guard };
  }

  private createMirror(spec: FolderSpec): FolderMirror {
    const mirror = new FolderMirror(spec, this.stateDir, this.log.child({ folder: spec.root, project: spec.projectName }));
    mirror.on('event', (event) => this.broadcast(event));
    this.folders.set(spec.root, mirror);
    return mirror;
  }

  private async dropMirror(root: string): Promise<void> {
    const mirror = this.folders.get(root);
    this.folders.delete(root);
    await mirror?.stop().catch((err: unknown) => this.log.warn({ err, root }, 'stopping a folder failed'));
  }

  private broadcast(event: FolderEvent): void {
    if (event.type === 'error') this.log.warn({ root: event.root, message: event.message }, 'folder error');
    for (const [socket, root] of this.subscribers) {
      if (!root || root === event.root) this.write(socket, { event });
    }
  }

  private write(socket: Socket, message: unknown): void {
    if (!socket.destroyed) socket.write(`${JSON.stringify(message)}\n`);
  }

  private get foldersFile(): string {
    return join(this.stateDir, FOLDERS_FILE);
  }

  private async loadFolderSpecs(): Promise<FolderSpec[]> {
    try {
      return JSON.parse(await readFile(this.foldersFile, 'utf8')) as FolderSpec[];
    } catch {
      return [];
    }
  }

  /** Tokens are in this file: it is written 0600, atomically. */
  private async saveFolderSpecs(): Promise<void> {
    const specs = [...this.folders.values()].map((m) => m.spec);
    const temp = `${this.foldersFile}.${process.pid}.tmp`;
    await writeFile(temp, JSON.stringify(specs, null, 2), { mode: 0o600 });
    await rename(temp, this.foldersFile);
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.log.info('daemon stopping');
    await Promise.all([...this.folders.values()].map((m) => m.stop().catch(() => undefined)));
    this.server?.close();
    await unlink(this.socketPath).catch(() => undefined);
  }
}

/** Entry of `codeshare daemon run`: the detached process. */
export async function runDaemon(stateDir: string): Promise<void> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const log = pino(
    { level: process.env.CODESHARE_LOG_LEVEL ?? 'info', base: { pid: process.pid } },
    pino.destination({ dest: join(stateDir, LOG_NAME), mkdir: true, sync: false }),
  );
  const daemon = new Daemon(stateDir, log);
  const shutdown = (signal: string) => {
    log.info({ signal }, 'signal received');
    void daemon.stop().then(() => {
      log.flush();
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('uncaughtException', (err) => log.error({ err }, 'uncaught exception'));
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));
  await daemon.start();
}

function daemonMemory(): DaemonMemory {
  const { rss, heapTotal, heapUsed, external, arrayBuffers } = process.memoryUsage();
  return { rss, heapTotal, heapUsed, external, arrayBuffers };
}

/** Guard settings from the control socket, checked: a wrong one changes nothing. */
function checkGuardSettings(settings: unknown): GuardSettings | null {
  if (settings === null) return null;
  const { maxRemovedShare, maxRemovedFiles } = (settings ?? {}) as Record<string, unknown>;
  const share = maxRemovedShare === null || (typeof maxRemovedShare === 'number' && maxRemovedShare > 0 && maxRemovedShare <= 1);
  const files = maxRemovedFiles === null || (typeof maxRemovedFiles === 'number' && Number.isSafeInteger(maxRemovedFiles) && maxRemovedFiles >= 0);
  if (!share || !files) throw new Error('guard: maxRemovedShare must be above 0 and at most 1, maxRemovedFiles a whole number, or either null');
  return { maxRemovedShare: maxRemovedShare as number | null, maxRemovedFiles: maxRemovedFiles as number | null };
}
