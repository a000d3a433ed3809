import { execFile } from 'node:child_process';
import { lstat, mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { IgnoreRules, rebaseIgnoreLine } from '../../common/ignore-rules.js';
import { makeTempFolder } from './temp-folders.js';

const run = promisify(execFile);

async function writeTree(root: string, files: Record<string, string>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), content);
  }
}

describe('IgnoreRules defaults', () => {
  it('ignores what no one wants synced', async () => {
    const rules = await IgnoreRules.load(await makeTempFolder('rules'));
    const ignored: Array<[string, boolean]> = [
      ['.git', true],
      ['.git/config', false],
      ['.GIT/config', false],
      ['sub/.git', false],
      ['sub/module/.git/HEAD', false],
      ['node_modules', true],
      ['node_modules/pkg/index.js', false],
      ['packages/app/node_modules', true],
      ['.codeshare', true],
      ['.codeshare/state.json', false],
      ['.idea', true],
      ['.DS_Store', false],
      ['src/.DS_Store', false],
      ['.main.ts.swp', false],
      ['src/.main.ts.swo', false],
      ['notes.txt~', false],
      ['.#notes.txt', false],
      ['#notes.txt#', false],
      ['4913', false],
      ['src/4913', false],
      ['src/main.ts___jb_tmp___', false],
      ['src/main.ts___jb_old___', false],
      ['.env', false],
      ['.env.local', false],
      ['config/.env.production', false],
      ['.codeshare-tmp-0123abcd', false],
      ['deep/er/.codeshare-tmp-x', false],
    ];
    for (const [path, isDir] of ignored) expect(rules.ignores(path, isDir), path).toBe(true);
  });

  it('leaves alone what only a .gitignore should hide', async () => {
    const rules = await IgnoreRules.load(await makeTempFolder('rules'));
    const kept: Array<[string, boolean]> = [
      ['.vscode', true],
      ['.vscode/settings.json', false],
      ['dist', true],
      ['dist/index.js', false],
      ['build/out.o', false],
      ['.gitignore', false],
      ['.codeshareignore', false],
      ['.github/workflows/ci.yml', false],
      ['.gitattributes', false],
      ['environment.ts', false],
      ['.envrc', false],
      ['src/main.ts', false],
      ['node_modules', false],
      ['4913.txt', false],
      ['src/___jb_tmp___notes.md', false],
    ];
    for (const [path, isDir] of kept) expect(rules.ignores(path, isDir), path).toBe(false);
  });

  it('never ignores the root itself', async () => {
    const rules = await IgnoreRules.load(await makeTempFolder('rules'));
    expect(rules.ignores('', true)).toBe(false);
  });
});

describe('.codeshareignore', () => {
  it('re-includes a secret-looking file only when it says so', async () => {
    const root = await makeTempFolder('rules');
    await writeTree(root, { '.codeshareignore': '!.env.example\n' });
    const rules = await IgnoreRules.load(root);
    expect(rules.ignores('.env.example', false)).toBe(false);
    expect(rules.ignores('.env', false)).toBe(true);
    expect(rules.ignores('.env.local', false)).toBe(true);
  });

  it('overrules .gitignore in both directions', async () => {
    const root = await makeTempFolder('rules');
    await writeTree(root, {
      '.gitignore': 'generated/\n*.log\n',
      '.codeshareignore': '!generated/\n!important.log\nscratch/\n',
    });
    const rules = await IgnoreRules.load(root);
    expect(rules.ignores('generated', true)).toBe(false);
    expect(rules.ignores('generated/api.ts', false)).toBe(false);
    expect(rules.ignores('debug.log', false)).toBe(true);
    expect(rules.ignores('important.log', false)).toBe(false);
    expect(rules.ignores('scratch', true)).toBe(true);
    expect(rules.ignores('scratch/a.txt', false)).toBe(true);
  });

  it('cannot re-include .git, the state folder or the daemon temp files', async () => {
    const root = await makeTempFolder('rules');
    await writeTree(root, { '.codeshareignore': '!.git/\n!.git/config\n!.codeshare/\n!.codeshare-tmp-*\n!*\n' });
    const rules = await IgnoreRules.load(root);
    expect(rules.ignores('.git', true)).toBe(true);
    expect(rules.ignores('.git/config', false)).toBe(true);
    expect(rules.ignores('.codeshare/state', false)).toBe(true);
    expect(rules.ignores('.codeshare-tmp-abc', false)).toBe(true);
  });

  it('is the only file that can re-include local-only defaults', async () => {
    const root = await makeTempFolder('rules');
    await writeTree(root, { '.gitignore': '!.env.example\n!*.swp\n!.idea/\n' });
    const rules = await IgnoreRules.load(root);
    expect(rules.ignores('.env.example', false)).toBe(true);
    expect(rules.ignores('.a.swp', false)).toBe(true);
    // .idea/ is a base default: a project that commits it may say so in its .gitignore.
    expect(rules.ignores('.idea', true)).toBe(false);
  });
});

describe('nested .gitignore files', () => {
  it('apply relative to their own folder', async () => {
    const root = await makeTempFolder('rules');
    await writeTree(root, {
      '.gitignore': '*.tmp\n',
      'pkg/.gitignore': '*.log\n/build\ncache/\n!keep.log\nsub/out.txt\n',
      'pkg/src/a.ts': '',
    });
    const rules = await IgnoreRules.load(root);
    expect(rules.ignores('a.tmp', false)).toBe(true);
    expect(rules.ignores('pkg/deep/a.tmp', false)).toBe(true);
    expect(rules.ignores('x.log', false)).toBe(false);
    expect(rules.ignores('pkg/x.log', false)).toBe(true);
    expect(rules.ignores('pkg/src/x.log', false)).toBe(true);
    expect(rules.ignores('pkg/keep.log', false)).toBe(false);
    expect(rules.ignores('pkg/build', true)).toBe(true);
    expect(rules.ignores('pkg/src/build', true)).toBe(false);
    expect(rules.ignores('build', true)).toBe(false);
    expect(rules.ignores('pkg/src/cache', true)).toBe(true);
    expect(rules.ignores('pkg/src/cache', false)).toBe(false);
    expect(rules.ignores('pkg/sub/out.txt', false)).toBe(true);
    expect(rules.ignores('pkg/x/sub/out.txt', false)).toBe(false);
  });

  it('lets a deeper file re-include what a shallower one ignores, but not inside an ignored folder', async () => {
    const root = await makeTempFolder('rules');
    await writeTree(root, {
      '.gitignore': '*.gen.ts\nvendor/\n',
      'app/.gitignore': '!schema.gen.ts\n',
      'vendor/.gitignore': '!*\n',
    });
    const rules = await IgnoreRules.load(root);
    expect(rules.ignores('app/schema.gen.ts', false)).toBe(false);
    expect(rules.ignores('app/other.gen.ts', false)).toBe(true);
    expect(rules.ignores('vendor/lib.js', false)).toBe(true);
  });

  it('handles folder names with glob characters', () => {
    expect(rebaseIgnoreLine('*.log', 'we[ird]*?')).toBe('we\\[ird\\]\\*\\?/**/*.log');
    expect(rebaseIgnoreLine('!/out', 'a/b')).toBe('!a/b/out');
    expect(rebaseIgnoreLine('# comment', 'a')).toBeUndefined();
    expect(rebaseIgnoreLine('   ', 'a')).toBeUndefined();
    expect(rebaseIgnoreLine('**/x', 'a')).toBe('a/**/x');
  });

  it('matches git on a tree full of tricky rules', async () => {
    const root = await makeTempFolder('rules-vs-git');
    const rules: Record<string, string> = {
      '.gitignore': ['*.o', '/root-only.txt', 'logs/', '!logs/keep/', 'docs/**/*.draft', 'a?c.txt', '[Tt]emp*', '\\#hash', 'trailing-space\\ ', ''].join('\n'),
      'src/.gitignore': ['*.gen', '!keep.gen', '/local.txt', 'nested/deep.txt', 'out/', '**/fixtures/*.bin'].join('\n'),
      'src/lib/.gitignore': ['!*.o', 'lib-only.txt'].join('\r\n'),
      'we[ird]/.gitignore': 'inside.txt\n',
    };
    const files = [
      'a.o', 'x/a.o', 'src/a.o', 'src/lib/a.o', 'src/lib/sub/a.o',
      'root-only.txt', 'src/root-only.txt',
      'logs/a.txt', 'logs/keep/b.txt', 'src/logs/c.txt',
      'docs/x.draft', 'docs/a/b/c.draft', 'docs/a/c.md',
      'abc.txt', 'a-c.txt', 'src/abc.txt', 'Temp1', 'temp2', 'src/TempX', 'TEMP3',
      '#hash', 'trailing-space ', 'trailing-space',
      'src/x.gen', 'src/keep.gen', 'src/deeper/x.gen', 'x.gen',
      'src/local.txt', 'src/sub/local.txt', 'local.txt',
      'src/nested/deep.txt', 'src/a/nested/deep.txt',
      'src/out/file', 'src/x/out/file', 'out/file',
      'src/fixtures/a.bin', 'src/t/fixtures/b.bin', 'fixtures/c.bin',
      'src/lib/lib-only.txt', 'lib-only.txt',
      'we[ird]/inside.txt', 'we[ird]/x/inside.txt', 'weird/inside.txt', 'inside.txt',
      'plain.txt',
    ];
    await writeTree(root, rules);
    await writeTree(root, Object.fromEntries(files.map((file) => [file, 'x'])));
    const env = { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' };
    await run('git', ['init', '-q'], { cwd: root, env });
    const { stdout } = await run('git', ['ls-files', '--others', '--exclude-standard', '-z'], { cwd: root, env });
    const keptByGit = new Set(stdout.split('\0').filter(Boolean));
    // Both outcomes well represented, so the comparison below means something.
    expect(keptByGit.size).toBeGreaterThan(15);
    expect(keptByGit.size).toBeLessThan(files.length - 15);

    const ignoreRules = await IgnoreRules.load(root);
    const isIgnoredWithParents = (path: string): boolean => {
      const segments = path.split('/');
      for (let depth = 1; depth < segments.length; depth++) {
        if (ignoreRules.ignores(segments.slice(0, depth).join('/'), true)) return true;
      }
      return ignoreRules.ignores(path, false);
    };
    for (const file of [...files, ...Object.keys(rules)]) {
      expect(isIgnoredWithParents(file), file).toBe(!keptByGit.has(file));
    }
  });
});

describe('reloadFile', () => {
  it('picks up an edited, a new and a deleted .gitignore', async () => {
    const root = await makeTempFolder('rules');
    await writeTree(root, { '.gitignore': '*.log\n', 'pkg/a.ts': '' });
    const rules = await IgnoreRules.load(root);
    expect(rules.ignores('a.log', false)).toBe(true);
    expect(await rules.reloadFile('.gitignore')).toBe(false);

    await writeFile(join(root, '.gitignore'), '*.txt\n');
    expect(await rules.reloadFile('.gitignore')).toBe(true);
    expect(rules.ignores('a.log', false)).toBe(false);
    expect(rules.ignores('a.txt', false)).toBe(true);

    await writeFile(join(root, 'pkg', '.gitignore'), '*.ts\n');
    expect(await rules.reloadFile('pkg/.gitignore')).toBe(true);
    expect(rules.ignores('pkg/a.ts', false)).toBe(true);
    expect(rules.ignores('a.ts', false)).toBe(false);

    await rm(join(root, 'pkg', '.gitignore'));
    expect(await rules.reloadFile('pkg/.gitignore')).toBe(true);
    expect(rules.ignores('pkg/a.ts', false)).toBe(false);
  });

  it('finds the .gitignore files of a folder a change un-ignores', async () => {
    const root = await makeTempFolder('rules');
    await writeTree(root, { '.gitignore': 'tools/\n', 'tools/.gitignore': '*.bin\n' });
    const rules = await IgnoreRules.load(root);
    expect(rules.ignores('tools', true)).toBe(true);
    await writeFile(join(root, '.codeshareignore'), '!tools/\n');
    expect(await rules.reloadFile('.codeshareignore')).toBe(true);
    expect(rules.ignores('tools', true)).toBe(false);
    expect(rules.ignores('tools/x.bin', false)).toBe(true);
    expect(rules.ignores('tools/x.sh', false)).toBe(false);
  });

  it('says no for a path that is not a rules file', async () => {
    const rules = await IgnoreRules.load(await makeTempFolder('rules'));
    expect(await rules.reloadFile('src/index.ts')).toBe(false);
  });

  it('serialises quick successive reloads', async () => {
    const root = await makeTempFolder('rules');
    await writeTree(root, { '.gitignore': 'a\n' });
    const rules = await IgnoreRules.load(root);
    await writeFile(join(root, '.gitignore'), 'b\n');
    const first = rules.reloadFile('.gitignore');
    const second = rules.reloadFile('.gitignore');
    expect(await Promise.all([first, second])).toEqual([true, false]);
    expect(rules.ignores('b', false)).toBe(true);
  });
});

describe('chokidarIgnored', () => {
  it('takes absolute paths and stats as chokidar passes them', async () => {
    const root = await makeTempFolder('rules');
    await writeTree(root, { '.gitignore': 'build/\n', build: 'a file, not the folder', 'out/build/x.js': '' });
    const rules = await IgnoreRules.load(root);
    const match = rules.chokidarIgnored;
    expect(match(root)).toBe(false);
    expect(match(join(root, 'node_modules'), await lstat(root))).toBe(true);
    expect(match(join(root, 'node_modules', 'x', 'index.js'))).toBe(true);
    expect(match(join(root, 'src', 'index.ts'))).toBe(false);
    // The folder-only rule: a file named build stays, the folder out/build goes.
    expect(match(join(root, 'build'))).toBe(false);
    expect(match(join(root, 'build'), await lstat(join(root, 'build')))).toBe(false);
    expect(match(join(root, 'out', 'build'))).toBe(true);
    expect(match(join(root, 'out', 'build'), await lstat(join(root, 'out', 'build')))).toBe(true);
    // Outside the folder is not for these rules to decide.
    expect(match(join(dirname(root), 'elsewhere'))).toBe(false);
  });
});
