import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LOG_NAME } from '../../daemon/control-protocol.js';
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

export async function daemonStop(): Promise<{ stopped: boolean }> {
  const client = await runningDaemon();
  if (!client) return { stopped: false };
  await callDaemon(() => client.call('stop', {}));
  client.close();
  // The daemon removes its socket as it exits.
  const socket = join(stateDir(), 'daemon.sock');
  for (let i = 0; i < 100 && existsSync(socket); i++) await new Promise((resolve) => setTimeout(resolve, 50));
  return { stopped: true };
}

export async function daemonStatus(): Promise<{ running: boolean; pid: number | null; startedAt: string | null }> {
  const client = await runningDaemon();
  if (!client) return { running: false, pid: null, startedAt: null };
  try {
    const { pid, startedAt } = await client.call('ping', {});
    return { running: true, pid, startedAt };
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
