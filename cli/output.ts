// The CLI's only way to speak. Results go to stdout, as stable JSON with --json or as readable
// lines otherwise; notes, prompts and progress go to stderr, so stdout stays parseable.
import isInCi from 'is-in-ci';

/**
 * Whether an Ink view can be shown: both ends are a terminal and this is not a CI job. Ink draws
 * only the last frame when it sees CI set, so a live view there would stay blank until it ends;
 * CI gets the plain lines instead.
 */
export function interactiveTerminal(): boolean {
  return Boolean(process.stdout.isTTY && process.stdin.isTTY) && !isInCi;
}

/** Prints a command's result. */
export function emit<T>(data: T, json: boolean | undefined, format: (data: T) => string[]): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
    return;
  }
  const lines = format(data);
  if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
}

/** A line for the person at the terminal, never part of the result. */
export function note(line: string): void {
  process.stderr.write(`${line}\n`);
}

/**
 * A progress line rewritten in place, on a terminal only (a CI log would fill with them).
 * Resolves the display to nothing when stderr is not a TTY.
 */
export function progressLine(label: string): { update(done: number, total: number): void; done(): void } {
  if (!process.stderr.isTTY) return { update: () => {}, done: () => {} };
  let shown = false;
  let lastDrawn = 0;
  return {
    update(done, total) {
      const now = Date.now();
      // Redrawing on every file would spend more time on the terminal than on the files.
      if (done < total && now - lastDrawn < 80) return;
      lastDrawn = now;
      shown = true;
      process.stderr.write(`\r${label} ${done}/${total}\x1b[K`);
    },
    done() {
      if (shown) process.stderr.write('\r\x1b[K');
    },
  };
}

/** Aligned columns, for listings. */
export function table(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ').trimEnd());
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

export function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** A date as the day it falls on (listings), or "never". */
export const formatDay = (iso: string | null) => (iso ? iso.slice(0, 10) : 'never');

export { plural } from '../common/wording.js';
