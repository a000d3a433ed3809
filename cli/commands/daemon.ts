import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LOG_NAME, type DaemonMemory } from '../../common/control-protocol.js';
import { runDaemon } from '../../daemon/daemon.js';
import { callDaemon, daemonClient, runningDaemon, stateDir } from '../daemon-session.js';

export async function daemonStart(): Promise<{ running: true; pid: number; started: boolean }> {
  const { client, started } = await daemonClient();
  try {
    const { pid } = await client.call('ping', {});
    return { running: true, pid, started };
  } finally {
    client.close();
  }
}

/** How long a stopping daemon may take to store what it holds before it is killed. */
const STOP_GRACE_MS = 30_000;

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * Stops the daemon and returns once its process is gone, not merely once it said it would
 * stop: a daemon still writing its local store would otherwise outlive the command, and a
 * `daemon start` right after would find two. One that does not exit in time is killed (its
 * folders' unsent edits are still on disk and are found at the next start).
 */
export async function daemonStop(): Promise<{ stopped: boolean; pid?: number; killed?: boolean }> {
  const client = await runningDaemon();
  if (!client) return { stopped: false };
  const { pid } = await callDaemon(() => client.call('ping', {}));
  await callDaemon(() => client.call('stop', {}));
  client.close();
  const deadline = Date.now() + STOP_GRACE_MS;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  if (!isAlive(pid)) return { stopped: true, pid };
  process.kill(pid, 'SIGKILL');
  while (isAlive(pid)) await new Promise((resolve) => setTimeout(resolve, 50));
  return { stopped: true, pid, killed: true };
}

export async function daemonStatus(): Promise<{ running: boolean; pid: number | null; startedAt: string | null; memory: DaemonMemory | null }> {
  const client = await runningDaemon();
  if (!client) return { running: false, pid: null, startedAt: null, memory: null };
  try {
    const { pid, startedAt, memory } = await client.call('ping', {});
    return { running: true, pid, startedAt, memory };
  } finally {
    client.close();
  }
}

export async function daemonLogs(lines: number): Promise<string[]> {
  const file = join(stateDir(), LOG_NAME);
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean).slice(-lines);
}

/** The detached daemon process itself. */
export const daemonRun = () => runDaemon(stateDir());
