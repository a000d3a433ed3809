// Whether a burst of local changes may go out as it is, or must halt the folder first. A git
// command that throws away changes (`git checkout -- .`, `git reset --hard`, `git stash`,
// `git restore .`, `git clean -fd`) or an `rm -rf` changes no branch, so the branch pause does
// not see it; sent as it is, it would wipe the teammates' live, uncommitted work from every
// folder. Pure: the daemon gathers what each change does and whose work it removes; this only
// decides and words the reason. The halt and `codeshare resume` that act on it are
// discard-gate.ts and FolderMirror.

import { plural } from '../common/wording.js';
import type { GuardSettings } from '../common/control-protocol.js';

/** What one local change does to a path the project has. */
export type ChangeEffect =
  /** The file is gone. */
  | 'deleted'
  /** The file is empty now and was not. */
  | 'emptied'
  /** The file holds its last committed text again. */
  | 'reverted'
  /** Any other change of content or mode. */
  | 'edited';

export interface LocalChange {
  path: string;
  effect: ChangeEffect;
  /**
   * Teammates whose work the change throws away: who wrote the text it replaces since the file's
   * last commit (for a file only teammates created, who created it). Empty when the work it
   * replaces is this user's own, or was committed.
   */
  discards: readonly string[];
}

/**
 * What git showed changing alongside the files: `ORIG_HEAD`, `refs/stash`. (Not the index: an
 * editor's `git status` rewrites it every few seconds, so it tells nothing about a burst.)
 */
export interface GitSignals {
  /** ORIG_HEAD was written: a reset (also to the same commit), a merge or a rebase moved HEAD. */
  headMoved: boolean;
  stashChanged: boolean;
}

export type { GuardSettings };

/** A removal of more than 20% of the project's files, or of more than 200, halts. */
export const DEFAULT_GUARD: GuardSettings = { maxRemovedShare: 0.2, maxRemovedFiles: 200 };

/** Fewer removals than this are never "a large part" by share: deleting 2 files of a 6-file project is not an accident. */
const FEWEST_FOR_SHARE = 5;

export type GuardVerdict =
  | { halt: false }
  | {
      halt: true;
      /** `discards`: teammates' work would be thrown away; `removal`: a large part of the project would go. */
      rule: 'discards' | 'removal';
      /** The command the changes look like, for the message. */
      looksLike: string;
      /** Paths the halted burst touches. */
      files: number;
      /** Teammates whose work it would throw away, sorted. */
      whose: string[];
      /** One sentence for status, the live view and the log. */
      message: string;
    };

/** The command a burst looks like, from what it did and what git showed meanwhile. */
export function likelyCommand(changes: readonly LocalChange[], git: GitSignals): string {
  const deletions = changes.filter((change) => change.effect === 'deleted').length;
  const reverts = changes.filter((change) => change.effect === 'reverted').length;
  if (git.stashChanged) return 'git stash';
  // A reset writes ORIG_HEAD even when it stays on the same commit; a checkout of files (and
  // git restore) writes neither it nor the stash.
  if (git.headMoved) return 'git reset --hard';
  if (reverts > 0) return 'git checkout -- . (or git restore)';
  if (deletions === changes.length && deletions > 0) return 'rm -r (or git rm, git clean)';
  return 'a tool rewriting many files';
}

/**
 * Halts when the burst throws away a teammate's work, or removes or empties a large part of the
 * project (`projectFiles`: how many files the project has). A burst that reverts only this
 * user's own edits, or rewrites files without discarding anyone's (a formatter, a codemod),
 * passes.
 */
export function guardBurst(
  changes: readonly LocalChange[],
  projectFiles: number,
  git: GitSignals,
  settings: GuardSettings = DEFAULT_GUARD,
): GuardVerdict {
  if (changes.length === 0) return { halt: false };
  const whose = [...new Set(changes.flatMap((change) => change.discards))].sort();
  const removed = changes.filter((change) => change.effect === 'deleted' || change.effect === 'emptied').length;
  const overShare =
    settings.maxRemovedShare !== null && projectFiles > 0 && removed >= FEWEST_FOR_SHARE && removed / projectFiles > settings.maxRemovedShare;
  const overCount = settings.maxRemovedFiles !== null && removed > settings.maxRemovedFiles;
  if (whose.length === 0 && !overShare && !overCount) return { halt: false };
  const looksLike = likelyCommand(changes, git);
  const discarding = changes.filter((change) => change.discards.length > 0).length;
  const message =
    whose.length > 0
      ? `nothing sent: this looks like ${looksLike}, which would throw away ${listNames(whose)}'s uncommitted work in ${plural(discarding, 'file')}; \`codeshare resume\` sends it anyway, \`codeshare resume --restore\` brings the project's version back here`
      : `nothing sent: this looks like ${looksLike}, which would remove or empty ${plural(removed, 'file')} of ${projectFiles}; \`codeshare resume\` sends it anyway, \`codeshare resume --restore\` brings the project's version back here`;
  return { halt: true, rule: whose.length > 0 ? 'discards' : 'removal', looksLike, files: changes.length, whose, message };
}

function listNames(names: readonly string[]): string {
  if (names.length <= 1) return names.join('');
  return `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
}
