// When the folder is compared as a whole with the project: on request (a rules file changed, a
// branch pause or a halt ended) and periodically, one at a time. Every FULL_CHECK_EVERY-th
// periodic rescan is the full check: every path the server's hashes do not confirm is compared
// with its doc, and the texts' hashes with the server's, so a copy drifted by a bug or a lost
// event is healed, not left. (It compared every path with its doc, loading every doc: 29 s of
// CPU every ten minutes in an idle 40,000-file folder.)
//
// The period follows what a rescan costs: at least RESCAN_INTERVAL_MS, and at least
// RESCAN_DUTY_FACTOR times the last periodic rescan's duration. A rescan lists and stats every
// file; in a 40,000-file folder that took about 3.5 s of CPU, and every 30 s it kept an idle
// daemon at 11% of a core. The rescan is the safety net under the watcher, so it may come less
// often in a folder that is costly to walk; it never takes more than 1/RESCAN_DUTY_FACTOR of the time.

import { collectGarbageWhenQuiet } from '../common/idle-gc.js';
import type { ProjectFile } from '../common/project-file.js';

/** CODESHARE_RESCAN_MS shortens it to exercise the periodic checks (tests, debugging). */
const RESCAN_INTERVAL_MS = Number(process.env.CODESHARE_RESCAN_MS) || 30_000;
const RESCAN_DUTY_FACTOR = 20;
/** Every this many rescans (five minutes in a small folder), the full check. */
const FULL_CHECK_EVERY = 10;

/** How long to wait before the next periodic rescan, given how long the last one took. */
export function nextRescanDelay(lastRescanMs: number, minimumMs = RESCAN_INTERVAL_MS): number {
  return Math.max(minimumMs, Math.round(lastRescanMs * RESCAN_DUTY_FACTOR));
}

export interface RescanOptions {
  /** Not only the paths known to differ: every path (but those `serverFiles` confirm) against its doc. */
  checkEveryPath?: boolean;
  /** The server's files: a path whose disk holds the hash the server has for it is not checked. */
  serverFiles?: Map<string, ProjectFile>;
}

export interface RescanWork {
  /** One comparison of the folder. */
  rescan: (options: RescanOptions) => Promise<void>;
  /** The server's files, or null when it cannot be asked now (offline, paused). */
  serverFiles: () => Promise<Map<string, ProjectFile> | null>;
  /** The texts against the server's hashes (after a full rescan). */
  compareWithServer: (serverFiles: Map<string, ProjectFile>) => Promise<void>;
}

export class Rescans {
  /** The rescan running now, if any; another asked for meanwhile runs once it ends. */
  private running: Promise<void> | null = null;
  private again = false;
  private count = 0;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(private readonly work: RescanWork) {}

  /** Rescans now, or right after the rescan running now (which may have missed what prompted this). */
  request(options: RescanOptions = {}): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.work.rescan(options).finally(() => {
      this.running = null;
      // A rescan lists the whole folder: what it allocated goes once things are quiet.
      collectGarbageWhenQuiet();
      if (this.again && !this.stopped) {
        this.again = false;
        void this.request();
      }
    });
    return this.running;
  }

  /** Starts the periodic rescans. */
  start(): void {
    this.schedule(RESCAN_INTERVAL_MS);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.periodic(), delayMs);
    this.timer.unref();
  }

  private async periodic(): Promise<void> {
    this.count++;
    const started = performance.now();
    try {
      // Offline, the full check waits for a period when the server can be asked.
      const serverFiles = this.count % FULL_CHECK_EVERY === 0 ? await this.work.serverFiles() : null;
      await this.request(serverFiles ? { checkEveryPath: true, serverFiles } : {});
      if (serverFiles) await this.work.compareWithServer(serverFiles);
    } finally {
      this.schedule(nextRescanDelay(performance.now() - started));
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }
}
