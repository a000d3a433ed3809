import type { FolderStatus } from '../../common/control-protocol.js';
import { callDaemon, runningDaemon } from '../daemon-session.js';
import { plural } from '../output.js';
import { docsInMemory } from '../../common/wording.js';

/** Problems spelled out under a folder; `--json` has them all. */
export const PROBLEMS_SHOWN = 5;

export interface StatusResult {
  daemon: { running: boolean; pid: number | null; startedAt: string | null; logFile: string | null };
  folders: FolderStatus[];
}

export async function status(): Promise<StatusResult> {
  const client = await runningDaemon();
  if (!client) return { daemon: { running: false, pid: null, startedAt: null, logFile: null }, folders: [] };
  try {
    const result = await callDaemon(() => client.call('status', {}));
    return { daemon: { running: true, pid: result.pid, startedAt: result.startedAt, logFile: result.logFile }, folders: result.folders };
  } finally {
    client.close();
  }
}

export function describeSyncState(folder: FolderStatus): string {
  switch (folder.state) {
    case 'synced':
      return 'synced';
    case 'unsaved':
      return `${folder.unsaved} unsaved`;
    case 'offline':
      return 'offline (reconnecting)';
    case 'paused':
      // A halt's reason is long (what it looks like, whose work, what to do): it gets a line of its own.
      return folder.halt ? 'paused before sending' : `paused: ${folder.pausedReason ?? ''}`;
    case 'refused':
      return 'refused by the server';
    default:
      return folder.state;
  }
}

export function formatStatus(result: StatusResult): string[] {
  if (!result.daemon.running) return ['The daemon is not running; no folder is synced. `codeshare share` or `codeshare join` starts it.'];
  const lines = [`Daemon running (pid ${result.daemon.pid}), log: ${result.daemon.logFile}`];
  if (result.folders.length === 0) lines.push('No folder is synced.');
  for (const folder of result.folders) {
    lines.push(`${folder.root}  ${folder.projectName}  ${describeSyncState(folder)}  ${folder.files} files${folder.branch ? `  branch ${folder.branch}` : ''}`);
    if (folder.docs) lines.push(`  ${docsInMemory(folder.docs)}`);
    if (folder.halt && folder.pausedReason) lines.push(`  ${folder.pausedReason}`);
    if (folder.watcher?.problem) lines.push(`  not watched: ${folder.watcher.problem}`);
    for (const peer of folder.peers) lines.push(`  online: ${peer.name}${peer.file ? ` (${peer.file})` : ''}${peer.branch ? ` on ${peer.branch}` : ''}`);
    // Said here, not only in the log: "synced" alone would hide a file the teammates never get.
    if (folder.problems.length > 0) {
      lines.push(`  ${plural(folder.problems.length, 'path')} not shared here (codeshare status --json lists them)`);
      for (const problem of folder.problems.slice(0, PROBLEMS_SHOWN)) lines.push(`    ${problem.message}`);
      if (folder.problems.length > PROBLEMS_SHOWN) lines.push(`    and ${folder.problems.length - PROBLEMS_SHOWN} more`);
    }
  }
  return lines;
}
