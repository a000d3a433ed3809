import { resolve } from 'node:path';
import type { GuardSettings } from '../../common/control-protocol.js';
import { callDaemon, runningDaemon } from '../daemon-session.js';
import { CliError } from '../errors.js';

export interface GuardOptions {
  /** A number of files, or `off`. */
  maxFiles?: number | 'off';
  /** A share of the project's files (0.2 for 20%), or `off`. */
  maxShare?: number | 'off';
  default?: boolean;
}

const limit = (value: number | 'off' | undefined, current: number | null) => (value === undefined ? current : value === 'off' ? null : value);

/** Shows, or changes, when a burst of removals halts the folder before sending. */
export async function guard(dir: string | undefined, options: GuardOptions): Promise<{ root: string; guard: GuardSettings }> {
  const root = resolve(dir ?? '.');
  const client = await runningDaemon();
  if (!client) throw new CliError(`${root} is not synced: the daemon is not running`);
  try {
    const current = await callDaemon(() => client.call('guard', { root }));
    const changing = options.default || options.maxFiles !== undefined || options.maxShare !== undefined;
    if (!changing) return current;
    const settings: GuardSettings | null = options.default
      ? null
      : {
          maxRemovedFiles: limit(options.maxFiles, current.guard.maxRemovedFiles),
          maxRemovedShare: limit(options.maxShare, current.guard.maxRemovedShare),
        };
    return await callDaemon(() => client.call('guard', { root: current.root, settings }));
  } finally {
    client.close();
  }
}

export function formatGuard(result: { root: string; guard: GuardSettings }): string[] {
  const { maxRemovedFiles, maxRemovedShare } = result.guard;
  const limits = [
    maxRemovedShare !== null ? `more than ${Math.round(maxRemovedShare * 1000) / 10}% of the project's files` : null,
    maxRemovedFiles !== null ? `more than ${maxRemovedFiles} files` : null,
  ].filter((limit) => limit !== null);
  return [
    limits.length > 0
      ? `${result.root}: a burst that deletes or empties ${limits.join(', or ')} pauses before sending.`
      : `${result.root}: the size rule is off; bursts of removals are sent as they are.`,
    "A change that would throw away a teammate's uncommitted work always pauses before sending.",
  ];
}
