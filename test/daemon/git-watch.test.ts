// What git did just before a burst of disk changes, read from its files' times: each write of
// ORIG_HEAD or the stash explains one burst, not every burst of the next second.
import { rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { GitWatch } from '../../daemon/git-watch.js';
import { makeTempFolder } from './temp-folders.js';

const git = (cwd: string, ...args: string[]) => execa('git', ['-c', 'user.name=t', '-c', 'user.email=t@localhost', '-c', 'init.defaultBranch=main', ...args], { cwd });

/** Until a file written in `root` gets a later time than `mtimeMs`. */
async function untilClockPasses(root: string, mtimeMs: number): Promise<void> {
  const probe = join(root, '.git', 'clock-probe');
  do await writeFile(probe, String(Date.now()));
  while ((await stat(probe)).mtimeMs <= mtimeMs);
  await rm(probe);
}

describe('GitWatch.signalsSince', () => {
  it('puts a stash down to the first burst after it, and a later reset to its own', async () => {
    const root = await makeTempFolder('git-watch');
    await git(root, 'init', '-q');
    await writeFile(join(root, 'a.txt'), 'one\n');
    await git(root, 'add', '-A');
    await git(root, 'commit', '-q', '-m', 'one');
    await writeFile(join(root, 'a.txt'), 'one, amended\n');
    await git(root, 'commit', '-q', '-am', 'two');
    const watch = new GitWatch(root, pino({ level: 'silent' }));
    await watch.start();
    try {
      const before = Date.now() - 1000;
      expect(await watch.signalsSince(before)).toEqual({ headMoved: false, stashChanged: false });
      await writeFile(join(root, 'a.txt'), 'two\n');
      await git(root, 'stash', '-q');
      expect(await watch.signalsSince(before)).toEqual({ headMoved: true, stashChanged: true });
      // The next burst (an rm -r, say) in the same second: the stash is already explained.
      expect(await watch.signalsSince(before)).toEqual({ headMoved: false, stashChanged: false });
      // A reset from a newer commit: git leaves ORIG_HEAD alone when its content stays the same.
      await writeFile(join(root, 'a.txt'), 'three\n');
      await git(root, 'commit', '-q', '-am', 'three');
      // Two writes in one tick of the file system's clock have one time: the reset comes after it.
      await untilClockPasses(root, (await stat(join(root, '.git', 'ORIG_HEAD'))).mtimeMs);
      await git(root, 'reset', '-q', '--hard', 'HEAD~1');
      expect(await watch.signalsSince(before)).toEqual({ headMoved: true, stashChanged: false });
    } finally {
      await watch.stop();
    }
  });
});
