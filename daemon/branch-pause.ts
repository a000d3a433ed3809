// The pause on a branch switch: when the folder's git branch leaves the branch the project
// tracks (a `git checkout`), the folder stops syncing instead of uploading thousands of files,
// says so, and resumes when the branch matches again. Its sibling, the halt on a burst that
// would discard teammates' work, is discard-gate.ts.
import type { Logger } from 'pino';

export class BranchPause {
  /** Why the folder is paused, or null. */
  reason: string | null = null;

  /** `branch`: the folder's branch now; `tracked`: the project's; either null when unknown. */
  constructor(
    private readonly branch: () => string | null,
    private readonly tracked: () => string | null,
    private readonly log: Logger,
  ) {}

  private offBranch(): boolean {
    const tracked = this.tracked();
    const branch = this.branch();
    return tracked !== null && branch !== null && branch !== tracked;
  }

  /**
   * Pauses at once when the branch read last differs from the tracked one; true when it did.
   * Work on a path asks this after git settled, so a checkout's file events never run before
   * the pause that checkout causes; resuming (which reconciles) is left to update().
   */
  pauseIfOffBranch(): boolean {
    if (this.reason || !this.offBranch()) return false;
    const branch = this.branch();
    const tracked = this.tracked();
    this.reason = `on branch ${branch}; the project tracks ${tracked}`;
    this.log.warn({ branch, tracked }, 'paused: branch differs from the tracked one');
    return true;
  }

  /** After the branch (or the tracked one) changed: pauses, or resumes when they match again. */
  update(): 'paused' | 'resumed' | 'unchanged' {
    if (this.offBranch()) return this.pauseIfOffBranch() ? 'paused' : 'unchanged';
    if (!this.reason) return 'unchanged';
    this.reason = null;
    this.log.info({ branch: this.branch() }, 'resumed: back on the tracked branch');
    return 'resumed';
  }

  /** On the tracked branch (and both known): the branch's commits are the project's. */
  get onTrackedBranch(): boolean {
    const branch = this.branch();
    return branch !== null && branch === this.tracked();
  }
}
