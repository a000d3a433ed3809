// The CLI's side of the control socket: starts the daemon when needed, calls it, follows
// its events.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, unlink } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FolderEvent } from './control-protocol.js';
import { SOCKET_NAME, type ControlMessage, type ControlMethod, type ControlMethods } from './control-protocol.js';

export class DaemonError extends Error {}

export class ControlClient {
  private buffer = '';
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly eventListeners: ((event: FolderEvent) => void)[] = [];
  private closedError: Error | null = null;

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    const onGone = () => {
      this.closedError ??= new DaemonError('the daemon closed the connection (see `codeshare daemon logs`)');
      for (const { reject } of this.pending.values()) reject(this.closedError);
      this.pending.clear();
    };
    socket.on('close', onGone);
    socket.on('error', onGone);
  }

  static connect(stateDir: string): Promise<ControlClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(join(stateDir, SOCKET_NAME));
      socket.once('connect', () => resolve(new ControlClient(socket)));
      socket.once('error', reject);
    });
  }

  call<M extends ControlMethod>(method: M, params: ControlMethods[M]['params']): Promise<ControlMethods[M]['result']> {
    if (this.closedError) return Promise.reject(this.closedError);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.socket.write(`${JSON.stringify({ id, method, params })}\n`);
    });
  }

  onEvent(listener: (event: FolderEvent) => void): void {
    this.eventListeners.push(listener);
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    for (let newline = this.buffer.indexOf('\n'); newline !== -1; newline = this.buffer.indexOf('\n')) {
      const line = this.buffer.slice(0, newline);
      this.buffer = this.buffer.slice(newline + 1);
      if (!line) continue;
      const message = JSON.parse(line) as ControlMessage;
      if ('event' in message) {
        for (const listener of this.eventListeners) listener(message.event);
      } else {
        const waiter = this.pending.get(message.id);
        this.pending.delete(message.id);
        if ('error' in message) waiter?.reject(new DaemonError(message.error.message));
        else waiter?.resolve(message.result);
      }
    }
  }

  close(): void {
    this.socket.end();
  }
}

/** The path of the CLI entry, to start the daemon as `codeshare daemon run`. */
const cliEntry = () => fileURLToPath(new URL('../../bin/codeshare.js', import.meta.url));

/** Connects to the home's daemon, starting it (detached) if it is not running. */
export async function ensureDaemon(stateDir: string): Promise<{ client: ControlClient; started: boolean }> {
  try {
    const client = await ControlClient.connect(stateDir);
    await client.call('ping', {});
    return { client, started: false };
  } catch {
    // Not running, or a stale socket left by a killed daemon.
  }
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const socketPath = join(stateDir, SOCKET_NAME);
  if (existsSync(socketPath)) await unlink(socketPath).catch(() => undefined);
  const child = spawn(process.execPath, ['--expose-gc', cliEntry(), 'daemon', 'run'], {
    detached: true,
    stdio: 'ignore',
    env: {
      // File writes (each with its fsyncs), reads and LevelDB all wait for libuv's threads; the
      // default four let a join's fsyncs hold up everything else.
      UV_THREADPOOL_SIZE: '16',
      // glibc gives each of those threads a malloc arena that keeps what a share or join freed;
      // two arenas and a trim threshold return it (40 MB less resident after a 5,000-file share).
      MALLOC_ARENA_MAX: '2',
      MALLOC_TRIM_THRESHOLD_: '131072',
      ...process.env,
    },
  });
  child.unref();
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      const client = await ControlClient.connect(stateDir);
      await client.call('ping', {});
      return { client, started: true };
    } catch (err) {
      if (Date.now() > deadline) throw new DaemonError(`the daemon did not start: ${(err as Error).message} (see \`codeshare daemon logs\`)`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** Connects to a running daemon, or returns null. */
export async function connectIfRunning(stateDir: string): Promise<ControlClient | null> {
  try {
    const client = await ControlClient.connect(stateDir);
    await client.call('ping', {});
    return client;
  } catch {
    return null;
  }
}
