// What the scan left out, said to the user: each skip becomes a FolderProblem with one sentence
// that names the path and the reason, so `codeshare status` and the live view can list what a
// teammate will not see (Mutagen's "problems"). Pure: the scan decides, this only words it.
import type { FolderProblem } from '../common/control-protocol.js';
import type { ScanSkip } from './scan.js';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'] as const;

/** Bytes in binary units with at most one decimal: 512 B, 1.5 KiB, 3.2 GiB, 2 GiB. */
export function formatBinaryBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  let rounded = Math.round(value * 10) / 10;
  // 1023.96 KiB rounds to 1024 KiB, which is 1 MiB.
  if (rounded >= 1024 && unit < UNITS.length - 1) {
    rounded = Math.round((rounded / 1024) * 10) / 10;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${Number.isInteger(rounded) ? rounded : rounded.toFixed(1)} ${UNITS[unit]}`;
}

/** "3.2 GiB is over the 2 GiB limit"; in exact bytes when rounding would make the two look equal. */
function overLimit(size: number, limit: number): string {
  const shownSize = formatBinaryBytes(size);
  const shownLimit = formatBinaryBytes(limit);
  if (shownSize !== shownLimit) return `${shownSize} is over the ${shownLimit} limit`;
  return `${size.toLocaleString('en-US')} bytes is over the ${limit.toLocaleString('en-US')}-byte limit`;
}

/** The problem a user is told about for one skip; null for a skip that is not one. */
export function problemOfSkip(skip: ScanSkip): FolderProblem | null {
  const notShared = (why: string) => `${skip.path} not shared: ${why}`;
  switch (skip.reason) {
    case 'changed-during-scan':
      // A file that moved under the scan is the watcher's to report, not a lasting problem.
      return null;
    case 'invalid-name': {
      const why =
        skip.detail === 'symlink-target'
          ? 'the symlink points to a name that is not valid UTF-8'
          : skip.detail === 'folder'
            ? 'its name is not valid UTF-8, so nothing in it is shared either'
            : 'its name is not valid UTF-8';
      return { path: skip.path, reason: 'invalid-name', message: notShared(why) };
    }
    case 'unsafe-path':
      return {
        path: skip.path,
        reason: 'unsafe-path',
        message: notShared(`its name cannot be carried safely to other systems${skip.detail ? ` (${skip.detail})` : ''}`),
      };
    case 'unsafe-symlink': {
      // The scan's detail is "<UnsafePathReason>: <target as JSON>".
      const where = skip.detail?.startsWith('git-folder') ? 'into .git' : 'outside the folder';
      return { path: skip.path, reason: 'unsafe-symlink', message: notShared(`the symlink points ${where}${skip.detail ? ` (${skip.detail})` : ''}`) };
    }
    case 'special-file':
      return { path: skip.path, reason: 'special-file', message: notShared('a FIFO, socket or device is not a file') };
    case 'unreadable':
      return { path: skip.path, reason: 'unreadable', message: notShared(`it cannot be read${skip.detail ? ` (${skip.detail})` : ''}`) };
    case 'too-large':
      return { path: skip.path, reason: 'too-large', message: notShared(overLimit(skip.size, skip.limit)) };
    default: {
      const unknown: never = skip;
      throw new Error(`Unknown scan skip reason: ${(unknown as ScanSkip).reason}`);
    }
  }
}

/** The problems among a scan's skips, in the scan's order (by path). */
export function problemsFromScan(skipped: readonly ScanSkip[]): FolderProblem[] {
  const problems: FolderProblem[] = [];
  for (const skip of skipped) {
    const problem = problemOfSkip(skip);
    if (problem) problems.push(problem);
  }
  return problems;
}
