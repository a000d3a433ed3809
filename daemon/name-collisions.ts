// Which project paths are not written in this folder because another path is the same name on
// its file system (README.md and readme.md on macOS), kept in step with the index from every
// origin. A path no longer shadowed (the one it yielded to was removed or renamed) is freed.
import type { Logger } from 'pino';
import type * as Y from 'yjs';
import type { IndexEntry } from '../common/index-entry.js';
import type { FolderProblem } from '../common/control-protocol.js';
import { FoldedNames, collisionMessage, type FolderNaming } from './name-folding.js';

export interface NameCollisionHooks {
  /** A path that was shadowed is not any more: it can be written now. */
  freed: (path: string) => void;
  changed: () => void;
}

export class NameCollisions {
  private readonly folded: FoldedNames;
  private readonly collisions = new Map<string, FolderProblem>();

  constructor(
    naming: FolderNaming,
    private readonly files: Y.Map<IndexEntry>,
    private readonly log: Logger,
    private readonly hooks: NameCollisionHooks,
  ) {
    this.folded = new FoldedNames(naming);
    if (!this.folded.folds) return;
    for (const path of files.keys()) this.folded.add(path);
    for (const path of files.keys()) this.refresh(path);
    files.observe(this.onKeys);
    log.info({ naming: 'folds names' }, 'this folder\'s file system sees names that differ in case or Unicode form as one');
  }

  /** Whether the project path is not written here. */
  has(path: string): boolean {
    return this.collisions.has(path);
  }

  problems(): FolderProblem[] {
    return [...this.collisions.values()];
  }

  /**
   * The project path a name on disk stands for. On a file system that folds names, the disk may
   * spell a project file differently (`readme.md` for `README.md`): it is the same file.
   */
  projectPath(diskPath: string, known: (path: string) => boolean): string {
    if (!this.folded.folds || known(diskPath)) return diskPath;
    return this.folded.winnerFor(diskPath) ?? diskPath;
  }

  private readonly onKeys = (event: Y.YMapEvent<IndexEntry>) => {
    for (const [path, change] of event.changes.keys) {
      if (change.action === 'add') this.folded.add(path);
      else if (change.action === 'delete') this.folded.delete(path);
    }
    for (const path of event.changes.keys.keys()) this.refresh(path);
  };

  private refresh(path: string): void {
    for (const member of new Set([path, ...this.folded.sharing(path)])) {
      const winner = this.folded.winnerFor(member);
      if (winner !== null && winner !== member && this.files.has(member)) {
        if (!this.collisions.has(member)) this.log.warn({ path: member, winner }, 'two project paths are one name here; one is not written');
        this.collisions.set(member, { path: member, reason: 'name-collision', message: collisionMessage(member, winner) });
      } else if (this.collisions.delete(member) && this.files.has(member)) {
        this.hooks.freed(member);
      }
    }
    this.hooks.changed();
  }
}
