// The real CLI as a child process (`node bin/codeshare.js ...`), one CODESHARE_HOME per
// simulated user. It runs the build in dist/, so `npm run build` must come first (npm test does).
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';

export const CLI_ENTRY = join(import.meta.dirname, '../../bin/codeshare.js');
const BUILT_MAIN = join(import.meta.dirname, '../../dist/cli/main.js');

/**
 * Each CLI test starts several Node processes; on a loaded machine one takes a second or more,
 * so these suites get more time than the 30 s default.
 */
export const CLI_SUITE_TIMEOUTS = { timeout: 120_000 } as const;

export interface CliRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface CliRunOptions {
  /** CODESHARE_HOME: whose credentials and state the run uses. */
  home: string;
  /** Extra environment (CODESHARE_SERVER, CODESHARE_TOKEN, GITHUB_URL ...); nothing else leaks in. */
  env?: Record<string, string>;
  input?: string;
  cwd?: string;
  timeoutMs?: number;
}

export async function runCli(args: string[], options: CliRunOptions): Promise<CliRun> {
  if (!existsSync(BUILT_MAIN)) throw new Error(`${BUILT_MAIN} is missing: run \`npm run build\` before these tests`);
  const result = await execa(process.execPath, [CLI_ENTRY, ...args], {
    // Only what the CLI needs: a CODESHARE_TOKEN in the test runner's own environment must
    // not change what a simulated user is.
    extendEnv: false,
    env: { PATH: process.env.PATH ?? '', HOME: options.home, CODESHARE_HOME: options.home, ...options.env },
    input: options.input ?? '',
    cwd: options.cwd,
    reject: false,
    timeout: options.timeoutMs ?? 60_000,
  });
  if (result.timedOut) throw new Error(`codeshare ${args.join(' ')} timed out\n${result.stderr}`);
  return { exitCode: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** Runs the CLI and parses its stdout as JSON, failing loudly with stderr when it did not succeed. */
export async function runCliJson<T = any>(args: string[], options: CliRunOptions): Promise<T> {
  const run = await runCli([...args, '--json'], options);
  if (run.exitCode !== 0) throw new Error(`codeshare ${args.join(' ')} exited ${run.exitCode}: ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}

/** Temp folders that are all removed at the end. */
export class TempFolders {
  private readonly folders: string[] = [];

  async make(prefix = 'codeshare-cli-'): Promise<string> {
    const folder = await mkdtemp(join(tmpdir(), prefix));
    this.folders.push(folder);
    return folder;
  }

  async removeAll(): Promise<void> {
    await Promise.all(this.folders.splice(0).map((folder) => rm(folder, { recursive: true, force: true })));
  }
}
