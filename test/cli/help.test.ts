// Every command's --help, through the real executable: usage, at least one example, exit 0.
import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../../cli/program.js';
import { CLI_SUITE_TIMEOUTS, runCli, TempFolders } from '../helpers/cli.js';

/** The words that reach each listed command: [] for the program, ['auth', 'login'] ... (hidden ones are internal). */
function commandPaths(command: Command, prefix: string[] = []): string[][] {
  const visible = command.createHelp().visibleCommands(command);
  return [prefix, ...visible.filter((sub) => sub.name() !== 'help').flatMap((sub) => commandPaths(sub, [...prefix, sub.name()]))];
}

describe('help', CLI_SUITE_TIMEOUTS, () => {
  const temp = new TempFolders();
  let home: string;
  beforeAll(async () => {
    home = await temp.make();
  }, CLI_SUITE_TIMEOUTS.timeout);
  afterAll(() => temp.removeAll());

  const paths = commandPaths(buildProgram());

  it('covers the commands this suite is about', () => {
    const names = paths.map((path) => path.join(' '));
    for (const name of ['', 'auth', 'auth login', 'auth status', 'auth logout', 'projects', 'members', 'token', 'token create', 'token list', 'token revoke', 'pull']) {
      expect(names).toContain(name);
    }
  });

  it.concurrent.for(paths.map((path) => [path.join(' ') || '(program)', path] as const))('codeshare %s --help', async ([, path], { expect }) => {
    const run = await runCli([...path, '--help'], { home });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toContain(`Usage: codeshare${path.length ? ` ${path.join(' ')}` : ''}`);
    expect(run.stdout).toMatch(/Examples?:\n {2}codeshare /);
  });

  it('answers a usage error with exit code 2 and a hint', async () => {
    const run = await runCli(['pull'], { home });
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain("missing required argument 'project'");
    expect(run.stderr).toContain('--help');
  });
});
