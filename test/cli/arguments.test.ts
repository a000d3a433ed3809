// Argument parsing apart from any server: commander declarations (through buildProgram with
// exitOverride and the actions swapped for recorders) and the CLI's own parse helpers.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { afterEach, describe, expect, it } from 'vitest';
import { parseMembersAction } from '../../cli/commands/members.js';
import { CliError } from '../../cli/errors.js';
import { githubApiBaseUrl } from '../../cli/github-device-flow.js';
import { buildProgram, parsePositiveInteger } from '../../cli/program.js';
import { apiProjectRef, parseProjectRef } from '../../cli/project-ref.js';
import { DEFAULT_SERVER_URL, normalizeServerUrl, resolveCredentials, writeStoredCredentials } from '../../common/credentials.js';
import { codesharePaths } from '../../common/paths.js';

function allCommands(command: Command): Command[] {
  return [command, ...command.commands.flatMap(allCommands)];
}

/** The program, silent, with every action replaced by one that records what it was given. */
function recordingProgram() {
  const program = buildProgram();
  const calls: { command: string; args: unknown[] }[] = [];
  for (const command of allCommands(program)) {
    command.configureOutput({ writeOut: () => {}, writeErr: () => {} });
    if (command !== program && command.commands.length === 0) {
      const name = command.parent && command.parent !== program ? `${command.parent.name()} ${command.name()}` : command.name();
      command.action((...args: unknown[]) => {
        calls.push({ command: name, args: args.slice(0, -1) });
      });
    }
  }
  const parse = async (...argv: string[]) => {
    await program.parseAsync(argv, { from: 'user' });
    return calls.at(-1);
  };
  return { parse };
}

async function usageFailure(promise: Promise<unknown>): Promise<CommanderError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CommanderError);
  return err as CommanderError;
}

describe('command declarations', () => {
  it('parses pull with its folder and options', async () => {
    const { parse } = recordingProgram();
    const call = await parse('pull', 'alice/demo', 'out', '--delete', '--json', '--concurrency', '4');
    expect(call?.command).toBe('pull');
    expect(call?.args[0]).toBe('alice/demo');
    expect(call?.args[1]).toBe('out');
    expect(call?.args[2]).toMatchObject({ delete: true, json: true, concurrency: 4 });
  });

  it('defaults pull concurrency to 16 and leaves the folder to the project name', async () => {
    const { parse } = recordingProgram();
    const call = await parse('pull', 'alice/demo');
    expect(call?.args[1]).toBeUndefined();
    expect(call?.args[2]).toMatchObject({ concurrency: 16 });
  });

  it('parses members with the action and its arguments after the project', async () => {
    const { parse } = recordingProgram();
    const call = await parse('members', 'alice/demo', 'add', 'bob', '--role', 'viewer');
    expect(call?.args.slice(0, 3)).toEqual(['alice/demo', 'add', ['bob']]);
    expect(call?.args[3]).toMatchObject({ role: 'viewer' });
  });

  it('parses token create options, with a number for --expires-in-days', async () => {
    const { parse } = recordingProgram();
    const call = await parse('token', 'create', '--name', 'ci', '--project', 'alice/demo', '--role', 'editor', '--expires-in-days', '30');
    expect(call?.command).toBe('token create');
    expect(call?.args[0]).toEqual({ name: 'ci', project: 'alice/demo', role: 'editor', expiresInDays: 30 });
  });

  it('parses auth login flags', async () => {
    const { parse } = recordingProgram();
    const call = await parse('auth', 'login', '--server', 'http://h:1', '--with-token', '--github-url', 'https://ghe.example.com');
    expect(call?.command).toBe('auth login');
    expect(call?.args[0]).toEqual({ server: 'http://h:1', withToken: true, githubUrl: 'https://ghe.example.com' });
  });

  it('refuses a missing project, a bad role, a bad number and unknown options as usage errors', async () => {
    const { parse } = recordingProgram();
    expect((await usageFailure(parse('pull'))).code).toBe('commander.missingArgument');
    expect((await usageFailure(parse('members', 'a/b', 'add', 'bob', '--role', 'admin'))).code).toBe('commander.invalidArgument');
    expect((await usageFailure(parse('token', 'create', '--expires-in-days', 'soon'))).code).toBe('commander.invalidArgument');
    expect((await usageFailure(parse('token', 'create', '--expires-in-days', '0'))).code).toBe('commander.invalidArgument');
    expect((await usageFailure(parse('projects', '--all'))).code).toBe('commander.unknownOption');
    expect((await usageFailure(parse('token', 'revoke'))).code).toBe('commander.missingArgument');
  });

  it('treats --help as a success, not an error', async () => {
    const { parse } = recordingProgram();
    const err = await usageFailure(parse('pull', '--help'));
    expect(err.exitCode).toBe(0);
  });
});

describe('parsePositiveInteger', () => {
  it('takes whole numbers from 1', () => {
    expect(parsePositiveInteger('1')).toBe(1);
    expect(parsePositiveInteger('365')).toBe(365);
    for (const bad of ['0', '-1', '1.5', '1e3', '', 'x', '99999999999999999999']) expect(() => parsePositiveInteger(bad)).toThrow();
  });
});

describe('parseProjectRef', () => {
  it('reads owner/name, ids and bare names', () => {
    expect(parseProjectRef('alice/demo')).toEqual({ kind: 'full-name', owner: 'alice', name: 'demo' });
    expect(parseProjectRef(' E209BAF2-B589-46EA-B314-D38BF2856BBC ')).toEqual({ kind: 'id', id: 'e209baf2-b589-46ea-b314-d38bf2856bbc' });
    expect(parseProjectRef('demo')).toEqual({ kind: 'own-name', name: 'demo' });
  });

  it('reads project URLs, whose server part selects the server', () => {
    expect(parseProjectRef('http://127.0.0.1:4455/p/alice/demo')).toEqual({
      kind: 'full-name',
      owner: 'alice',
      name: 'demo',
      server: 'http://127.0.0.1:4455',
    });
    expect(parseProjectRef('https://code.example.com/team/p/alice/my.app/')).toEqual({
      kind: 'full-name',
      owner: 'alice',
      name: 'my.app',
      server: 'https://code.example.com/team',
    });
    expect(parseProjectRef('http://h:1/p/e209baf2-b589-46ea-b314-d38bf2856bbc')).toEqual({
      kind: 'id',
      id: 'e209baf2-b589-46ea-b314-d38bf2856bbc',
      server: 'http://h:1',
    });
  });

  it('refuses what cannot name a project, as a usage error', () => {
    for (const bad of ['', 'a/b/c', '/demo', 'alice/', 'a b/c', 'http://h:1/', 'http://h:1/x/alice/demo', 'http://h:1/p/not-an-id', 'http://h:1/p/a/%zz']) {
      let caught: unknown;
      try {
        parseProjectRef(bad);
      } catch (err) {
        caught = err;
      }
      expect(caught, bad).toBeInstanceOf(CliError);
      expect((caught as CliError).exitCode, bad).toBe(2);
    }
  });

  it('gives the API ref, filling in the signed-in owner for a bare name', () => {
    expect(apiProjectRef(parseProjectRef('demo'), 'alice')).toBe('alice/demo');
    expect(apiProjectRef(parseProjectRef('bob/demo'), 'alice')).toBe('bob/demo');
  });
});

describe('parseMembersAction', () => {
  it('reads each action', () => {
    expect(parseMembersAction(undefined, [], {})).toEqual({ action: 'list' });
    expect(parseMembersAction('list', [], {})).toEqual({ action: 'list' });
    expect(parseMembersAction('add', ['bob'], {})).toEqual({ action: 'add', username: 'bob', role: 'editor' });
    expect(parseMembersAction('add', ['bob'], { role: 'owner' })).toEqual({ action: 'add', username: 'bob', role: 'owner' });
    expect(parseMembersAction('remove', ['bob'], {})).toEqual({ action: 'remove', username: 'bob' });
    expect(parseMembersAction('role', ['bob', 'viewer'], {})).toEqual({ action: 'role', username: 'bob', role: 'viewer' });
  });

  it('refuses wrong shapes as usage errors', () => {
    const cases: [string | undefined, string[], { role?: string }][] = [
      ['add', [], {}],
      ['add', ['a', 'b'], {}],
      ['remove', [], {}],
      ['role', ['bob'], {}],
      ['role', ['bob', 'admin'], {}],
      ['role', ['bob', 'viewer'], { role: 'owner' }],
      ['list', ['extra'], {}],
      ['kick', ['bob'], {}],
    ];
    for (const [action, args, options] of cases) {
      expect(() => parseMembersAction(action, args, options), `${action} ${args.join(' ')}`).toThrow(CliError);
      try {
        parseMembersAction(action, args, options);
      } catch (err) {
        expect((err as CliError).exitCode).toBe(2);
      }
    }
  });
});

describe('githubApiBaseUrl', () => {
  it('maps a GitHub web address to the API base the OAuth endpoints are derived from', () => {
    expect(githubApiBaseUrl('https://github.com')).toBe('https://api.github.com');
    expect(githubApiBaseUrl('https://github.com/')).toBe('https://api.github.com');
    expect(githubApiBaseUrl('https://api.github.com')).toBe('https://api.github.com');
    expect(githubApiBaseUrl('https://acme.ghe.com')).toBe('https://api.acme.ghe.com');
    expect(githubApiBaseUrl('https://ghe.example.com')).toBe('https://ghe.example.com/api/v3');
    expect(githubApiBaseUrl('http://127.0.0.1:9999')).toBe('http://127.0.0.1:9999/api/v3');
    expect(githubApiBaseUrl('http://127.0.0.1:9999/api/v3')).toBe('http://127.0.0.1:9999/api/v3');
  });

  it('refuses what is not an http(s) address', () => {
    expect(() => githubApiBaseUrl('github.com')).toThrow(CliError);
    expect(() => githubApiBaseUrl('ftp://github.com')).toThrow(CliError);
  });
});

describe('credentials resolution', () => {
  let home: string | undefined;
  afterEach(async () => {
    if (home) await rm(home, { recursive: true, force: true });
  });

  it('normalises server URLs to one comparable form', () => {
    expect(normalizeServerUrl('http://127.0.0.1:4455/')).toBe('http://127.0.0.1:4455');
    expect(normalizeServerUrl('HTTPS://Code.Example.com/base/')).toBe('https://code.example.com/base');
    expect(() => normalizeServerUrl('ftp://x')).toThrow(TypeError);
    expect(() => normalizeServerUrl('http://u:p@x')).toThrow(TypeError);
  });

  it('takes an explicit server, then CODESHARE_SERVER, then the stored one, then the default', async () => {
    home = await mkdtemp(join(tmpdir(), 'codeshare-creds-'));
    const env = { CODESHARE_HOME: home };
    expect(await resolveCredentials({}, env)).toMatchObject({ server: DEFAULT_SERVER_URL, serverSource: 'default', token: null, tokenSource: null });
    await writeStoredCredentials({ server: 'http://stored:1', token: 'cs_stored', username: 'alice' }, codesharePaths(env));
    expect(await resolveCredentials({}, env)).toMatchObject({ server: 'http://stored:1', serverSource: 'file', token: 'cs_stored', tokenSource: 'file', username: 'alice' });
    expect(await resolveCredentials({}, { ...env, CODESHARE_SERVER: 'http://env:2' })).toMatchObject({ server: 'http://env:2', serverSource: 'env' });
    expect(await resolveCredentials({ server: 'http://flag:3' }, { ...env, CODESHARE_SERVER: 'http://env:2' })).toMatchObject({ server: 'http://flag:3', serverSource: 'flag' });
  });

  it('never sends the stored token to another server, and lets CODESHARE_TOKEN override it', async () => {
    home = await mkdtemp(join(tmpdir(), 'codeshare-creds-'));
    const env = { CODESHARE_HOME: home };
    await writeStoredCredentials({ server: 'http://stored:1/', token: 'cs_stored', username: 'alice' }, codesharePaths(env));
    expect(await resolveCredentials({ server: 'http://stored:1' }, env)).toMatchObject({ token: 'cs_stored' });
    expect(await resolveCredentials({ server: 'http://other:1' }, env)).toMatchObject({ token: null, tokenSource: null, username: null });
    expect(await resolveCredentials({ server: 'http://other:1' }, { ...env, CODESHARE_TOKEN: 'cs_env' })).toMatchObject({
      token: 'cs_env',
      tokenSource: 'env',
      username: null,
    });
  });
});
