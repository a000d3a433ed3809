import { resolve } from 'node:path';
import { callDaemon, runningDaemon } from '../daemon-session.js';
import { CliError } from '../errors.js';

export async function leave(dir: string | undefined): Promise<{ root: string; left: boolean }> {
  const root = resolve(dir ?? '.');
  const client = await runningDaemon();
  if (!client) throw new CliError(`${root} is not synced: the daemon is not running`);
  try {
    const result = await callDaemon(() => client.call('leave', { root }));
    if (!result.left) throw new CliError(`${root} is not synced (see \`codeshare status\`)`);
    return result;
  } finally {
    client.close();
  }
}

export const formatLeave = (result: { root: string }) => [`Stopped syncing ${result.root}; its files stay as they are.`];
