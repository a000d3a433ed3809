// When the folder is compared as a whole with the project: on request (a rules file changed, a
// branch pause or a halt ended) and every RESCAN_INTERVAL_MS, one at a time. Every
// FULL_CHECK_EVERY-th periodic rescan compares every path with its doc and the texts' hashes
// with the server's, so a copy drifted by a bug or a lost event is healed, not left.

/** CODESHARE_RESCAN_MS shortens it to exercise the periodic checks (tests, debugging). */
const RESCAN_INTERVAL_MS = Number(process.env.CODESHARE_RESCAN_MS) || 30_000;
/** Every this many rescans (five minutes), the full check. */
const FULL_CHECK_EVERY = 10;

export interface RescanWork {
  /** One comparison of the folder; `checkEveryPath`: not only the paths known to differ. */
  rescan: (checkEveryPath: boolean) => Promise<void>;
  /** The texts against the server's hashes (after a full rescan). */
  compareWithServer: () => Promise<void>;
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
  request(options: { checkEveryPath?: boolean } = {}): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.work.rescan(options.checkEveryPath ?? false).finally(() => {
      this.running = null;
      if (this.again && !this.stopped) {
        this.again = false;
        void this.request();
      }
    });
    return this.running;
  }

  /** Starts the periodic rescans. */
  start(): void {
    this.timer = setInterval(() => void this.periodic(), RESCAN_INTERVAL_MS);
    this.timer.unref();
  }

  private async periodic(): Promise<void> {
    this.count++;
    const full = this.count % FULL_CHECK_EVERY === 0;
    await this.request({ checkEveryPath: full });
    if (full) await this.work.compareWithServer();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
  }
}
