import { describe, expect, it } from 'vitest';
import { DEFAULT_GUARD, guardBurst, likelyCommand, type ChangeEffect, type GitSignals, type LocalChange } from '../../daemon/discard-guard.js';

const noGit: GitSignals = { headMoved: false, stashChanged: false };
const reset: GitSignals = { headMoved: true, stashChanged: false };
const stash: GitSignals = { headMoved: false, stashChanged: true };

/** `count` changes with one effect, each discarding the work of `whose`. */
function burst(count: number, effect: ChangeEffect, whose: string[] = []): LocalChange[] {
  return Array.from({ length: count }, (_, i) => ({ path: `src/f${i}.ts`, effect, discards: whose }));
}

describe('guardBurst: which changes discard whose work', () => {
  const cases: Array<[string, LocalChange[], number, GitSignals, false | { rule: 'discards' | 'removal'; looksLike: string; whose: string[] }]> = [
    ['nothing changed', [], 100, noGit, false],
    ['one edit of my own', burst(1, 'edited'), 100, noGit, false],
    ['git checkout -- . over only my own edits', burst(10, 'reverted'), 100, noGit, false],
    ['a formatter rewrites 50 files, discarding nobody', burst(50, 'edited'), 100, noGit, false],
    ['git checkout -- . over bob\'s live edits', burst(10, 'reverted', ['bob']), 100, noGit, { rule: 'discards', looksLike: 'git checkout -- . (or git restore)', whose: ['bob'] }],
    ['git reset --hard over bob\'s edits: HEAD\'s reflog moved', burst(10, 'reverted', ['bob']), 100, reset, { rule: 'discards', looksLike: 'git reset --hard', whose: ['bob'] }],
    ['git reset --hard to another commit', burst(3, 'reverted', ['bob']), 100, reset, { rule: 'discards', looksLike: 'git reset --hard', whose: ['bob'] }],
    ['git stash of bob\'s and carol\'s edits', [...burst(2, 'reverted', ['carol']), ...burst(3, 'reverted', ['bob'])], 100, stash, { rule: 'discards', looksLike: 'git stash', whose: ['bob', 'carol'] }],
    ['one edit that overwrites a line bob just wrote', burst(1, 'edited', ['bob']), 100, noGit, { rule: 'discards', looksLike: 'a tool rewriting many files', whose: ['bob'] }],
    ['rm -rf of a folder holding bob\'s new files', burst(4, 'deleted', ['bob']), 100, noGit, { rule: 'discards', looksLike: 'rm -r (or git rm, git clean)', whose: ['bob'] }],
    ['git rm of my own files, a few', burst(4, 'deleted'), 100, noGit, false],
    ['rm -rf of 21 of 100 files, all committed', burst(21, 'deleted'), 100, noGit, { rule: 'removal', looksLike: 'rm -r (or git rm, git clean)', whose: [] }],
    ['rm -rf of exactly 20% of the files', burst(20, 'deleted'), 100, noGit, false],
    ['deleting 4 of a 6-file project: a few files are never a large part', burst(4, 'deleted'), 6, noGit, false],
    ['deleting 5 of a 6-file project', burst(5, 'deleted'), 6, noGit, { rule: 'removal', looksLike: 'rm -r (or git rm, git clean)', whose: [] }],
    ['emptying 201 of 5,000 files', burst(201, 'emptied'), 5000, noGit, { rule: 'removal', looksLike: 'a tool rewriting many files', whose: [] }],
    ['deleting 200 of 5,000 files: at the limit, not over', burst(200, 'deleted'), 5000, noGit, false],
    ['editing 500 of 1,000 files is not a removal', burst(500, 'edited'), 1000, noGit, false],
  ];
  for (const [name, changes, projectFiles, git, expected] of cases) {
    it(name, () => {
      const verdict = guardBurst(changes, projectFiles, git);
      if (expected === false) expect(verdict).toEqual({ halt: false });
      else expect(verdict).toMatchObject({ halt: true, ...expected, files: changes.length });
    });
  }

  it('turns the size rule off, or moves it, by setting', () => {
    expect(guardBurst(burst(300, 'deleted'), 1000, noGit, { maxRemovedShare: null, maxRemovedFiles: null })).toEqual({ halt: false });
    expect(guardBurst(burst(11, 'deleted'), 1000, noGit, { ...DEFAULT_GUARD, maxRemovedFiles: 10 })).toMatchObject({ halt: true, rule: 'removal' });
    // The size rule off does not turn off the rule that protects teammates.
    expect(guardBurst(burst(1, 'reverted', ['bob']), 1000, noGit, { maxRemovedShare: null, maxRemovedFiles: null })).toMatchObject({ halt: true, rule: 'discards' });
  });

  it('says what it looks like, how many files, whose work, and what to do', () => {
    const verdict = guardBurst([...burst(9, 'reverted', ['bob']), { path: 'x.ts', effect: 'reverted', discards: ['ann', 'bob'] }], 100, noGit);
    expect(verdict.halt && verdict.message).toBe(
      "nothing sent: this looks like git checkout -- . (or git restore), which would throw away ann and bob's uncommitted work in 10 files; `codeshare resume` sends it anyway, `codeshare resume --restore` brings the project's version back here",
    );
    const removal = guardBurst(burst(30, 'deleted'), 100, noGit);
    expect(removal.halt && removal.message).toContain('which would remove or empty 30 files of 100');
  });
});

describe('likelyCommand', () => {
  const cases: Array<[string, LocalChange[], GitSignals, string]> = [
    ['reverts with the stash ref moving', burst(2, 'reverted'), stash, 'git stash'],
    ['HEAD moved', burst(2, 'edited'), reset, 'git reset --hard'],
    ['reverts, git untouched', burst(2, 'reverted'), noGit, 'git checkout -- . (or git restore)'],
    ['deletions only, git untouched', burst(2, 'deleted'), noGit, 'rm -r (or git rm, git clean)'],
    ['edits', burst(2, 'edited'), noGit, 'a tool rewriting many files'],
  ];
  for (const [name, changes, git, command] of cases) it(name, () => expect(likelyCommand(changes, git)).toBe(command));
});
