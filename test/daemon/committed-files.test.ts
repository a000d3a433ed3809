// What the last commit holds, from one long-running `git cat-file --batch` (a real repository).
import { execFileSync } from 'node:child_process';
import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CommittedFiles, gitBlobId, holdsCommitted } from '../../daemon/committed-files.js';
import { makeTempFolder } from './temp-folders.js';

const opened: CommittedFiles[] = [];
afterEach(() => opened.splice(0).forEach((files) => files.close()));

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', args, { cwd, env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@x', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@x' } }).toString();

async function repository(files: Record<string, string | Buffer>): Promise<{ root: string; committed: CommittedFiles }> {
  const root = await makeTempFolder('committed');
  git(root, 'init', '-q', '-b', 'main');
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(root, path, '..'), { recursive: true });
    await writeFile(join(root, path), content);
  }
  git(root, 'add', '-A');
  git(root, 'commit', '-q', '-m', 'first');
  const committed = new CommittedFiles(root);
  opened.push(committed);
  return { root, committed };
}

describe('CommittedFiles', () => {
  it('reads files as HEAD has them, many at once, and says which paths HEAD lacks', async () => {
    const binary = Buffer.from([0, 1, 2, 255, 10, 10, 0]);
    const { committed } = await repository({ 'a.txt': 'one\n', 'src/b.ts': 'two\n', 'logo.bin': binary, 'empty.txt': '' });
    const answers = await Promise.all(['a.txt', 'missing.txt', 'src/b.ts', 'src', 'logo.bin', 'empty.txt'].map((path) => committed.read(path)));
    expect(answers.map((file) => file?.bytes.toString('utf8') ?? null)).toEqual(['one\n', null, 'two\n', null, binary.toString('utf8'), '']);
    expect(answers[4]!.bytes.equals(binary)).toBe(true);
    expect(holdsCommitted(answers[0]!, Buffer.from('one\n'))).toBe(true);
    expect(holdsCommitted(answers[0]!, Buffer.from('one!\n'))).toBe(false);
  });

  it('names a blob as git does', async () => {
    const { root } = await repository({ 'a.txt': 'hello\n' });
    expect(gitBlobId(Buffer.from('hello\n'))).toBe(git(root, 'rev-parse', 'HEAD:a.txt').trim());
  });

  it('reads the commit a reset moved away from', async () => {
    const { root, committed } = await repository({ 'a.txt': 'one\n' });
    await writeFile(join(root, 'a.txt'), 'two\n');
    git(root, 'commit', '-q', '-am', 'second');
    git(root, 'reset', '-q', '--hard', 'HEAD~1');
    expect((await committed.read('a.txt'))?.bytes.toString()).toBe('one\n');
    expect((await committed.read('a.txt', 'ORIG_HEAD'))?.bytes.toString()).toBe('two\n');
  });

  it('asks about a name with a newline apart, and answers after the batch process ended', async () => {
    const { committed } = await repository({ 'odd\nname.txt': 'odd\n', 'a.txt': 'one\n' });
    expect((await committed.read('odd\nname.txt'))?.bytes.toString()).toBe('odd\n');
    committed.close();
    expect((await committed.read('a.txt'))?.bytes.toString()).toBe('one\n');
  });

  it('answers null in a repository without commits', async () => {
    const root = await makeTempFolder('committed');
    git(root, 'init', '-q');
    const committed = new CommittedFiles(root);
    opened.push(committed);
    expect(await committed.read('a.txt')).toBeNull();
  });
});
