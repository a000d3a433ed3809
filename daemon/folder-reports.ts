// What a folder tells whoever listens (the daemon's control clients: the CLI, the live view):
// its status, at most every STATUS_EVERY_MS while changes pour in, each activity, with the
// teammate who likely made a remote one, and errors.
import type { Logger } from 'pino';
import type { FolderEvent, FolderStatus } from '../common/control-protocol.js';
import type { FolderPresence } from './folder-presence.js';
import type { ActivityAction, ActivityExtra } from './folder-parts.js';

/** Acks arrive by the thousand during a share: status is sent at most this often. */
const STATUS_EVERY_MS = 50;

export interface FolderReportsDeps {
  root: string;
  log: Logger;
  presence: FolderPresence;
  /** The status now; null before the folder opened. */
  status: () => FolderStatus | null;
  emit: (event: FolderEvent) => void;
}

export class FolderReports {
  private statusTimer: NodeJS.Timeout | null = null;

  constructor(private readonly deps: FolderReportsDeps) {}

  /** Sends the status soon (once, however often asked meanwhile). */
  scheduleStatus(): void {
    if (this.statusTimer) return;
    this.statusTimer = setTimeout(() => {
      this.statusTimer = null;
      this.sendStatus();
    }, STATUS_EVERY_MS);
  }

  sendStatus(): void {
    const status = this.deps.status();
    if (status) this.deps.emit({ type: 'status', root: this.deps.root, status });
  }

  activity(direction: 'local' | 'remote', action: ActivityAction, path: string, extra: ActivityExtra = {}): void {
    this.deps.log.debug({ direction, action, path, ...extra }, 'activity');
    this.deps.emit({
      type: 'activity',
      root: this.deps.root,
      direction,
      action,
      path,
      ...(direction === 'remote' ? { user: this.deps.presence.likelyAuthor(path) } : {}),
      ...(extra.oldPath ? { oldPath: extra.oldPath } : {}),
      ...(extra.added !== undefined ? { linesAdded: extra.added, linesRemoved: extra.removed ?? 0 } : {}),
    });
    // A file this user deleted is nobody's current file; one deleted remotely neither.
    if (action === 'deleted') this.deps.presence.gone(path);
    else if (direction === 'local') this.deps.presence.working(path);
  }

  error(message: string): void {
    this.deps.emit({ type: 'error', root: this.deps.root, message });
  }

  stop(): void {
    if (this.statusTimer) clearTimeout(this.statusTimer);
    this.statusTimer = null;
  }
}
