import { resolve } from 'node:path';
import type { ResumeReport } from '../../common/control-protocol.js';
import { callDaemon, runningDaemon } from '../daemon-session.js';
import { CliError } from '../errors.js';
import { plural } from '../output.js';

/** `codeshare resume [--restore]`: the user's decision on a folder halted before sending. */
export async function resume(dir: string | undefined, options: { restore?: boolean }): Promise<ResumeReport> {
  const root = resolve(dir ?? '.');
  const client = await runningDaemon();
  if (!client) throw new CliError(`${root} is not synced: the daemon is not running`);
  try {
    return await callDaemon(() => client.call('resume', { root, restore: options.restore === true }));
  } finally {
    client.close();
  }
}

export function formatResume(report: ResumeReport): string[] {
  const lines = [
    report.restored > 0
      ? `Brought the project's version back to ${plural(report.restored, 'file')} in ${report.root}${report.sent > 0 ? `; sent ${plural(report.sent, 'other change')}` : ''}.`
      : `Sent ${plural(report.sent, 'held change')} from ${report.root}.`,
  ];
  if (report.backup) lines.push(`The versions replaced are saved in ${report.backup}`);
  return lines;
}
