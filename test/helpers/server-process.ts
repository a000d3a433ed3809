// `codeshare server` as a real child process on a test storage, for what only a process shows:
// a kill -9 in the middle of work, a SIGTERM's graceful flush, the exit code. Runs the built
// CLI (bin/codeshare.js -> dist/), so `npm run build` must have run (`npm test` does).
import { execa, type ResultPromise } from 'execa';
import { onTestFinished } from 'vitest';
import type { TestStorage } from './storage.js';

const CLI = new URL('../../bin/codeshare.js', import.meta.url).pathname;
const LISTENING = /^codeshare server listening on (http:\/\/\S+)$/;

export interface ServerExit {
  exitCode: number | undefined;
  signal: string | undefined;
}

export interface ServerProcess {
  url: string;
  pid: number;
  /** Sends `signal` and resolves once the process has exited. */
  kill(signal: NodeJS.Signals): Promise<ServerExit>;
  /** The last few KiB of the server's log, for failure messages. */
  log(): string;
}

/**
 * Starts `codeshare server --host 127.0.0.1 --port 0` on `storage` and resolves with its URL
 * once the first stdout line says it listens. Call it inside a test: the process is killed
 * when the test ends, whatever its outcome.
 */
export async function startServerProcess(storage: TestStorage, options: { logLevel?: string } = {}): Promise<ServerProcess> {
  const args = [CLI, 'server', '--host', '127.0.0.1', '--port', '0', '--data-dir', storage.dataDir, '--log-level', options.logLevel ?? 'warn'];
  if (storage.databaseUrl) args.push('--database-url', storage.databaseUrl);
  const child: ResultPromise<{ reject: false; buffer: false }> = execa(process.execPath, args, {
    // Only what the server needs: no DATABASE_URL or CODESHARE_* of the developer's shell.
    extendEnv: false,
    env: { PATH: process.env.PATH ?? '', HOME: storage.dataDir, CODESHARE_HOME: storage.dataDir },
    stdin: 'ignore',
    reject: false,
    buffer: false,
  });
  const exited: Promise<ServerExit> = child.then((result) => ({ exitCode: result.exitCode, signal: result.signal }));
  const kill = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return exited;
  };
  onTestFinished(async () => {
    await kill('SIGKILL');
  });

  let log = '';
  child.stderr.on('data', (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-8000);
  });
  const url = await new Promise<string>((resolve, reject) => {
    let stdout = '';
    const onData = (chunk: Buffer) => {
      stdout += chunk.toString();
      const newline = stdout.indexOf('\n');
      if (newline === -1) return;
      child.stdout.off('data', onData);
      const match = LISTENING.exec(stdout.slice(0, newline));
      if (match) resolve(match[1]!);
      else reject(new Error(`unexpected first line from the server: ${stdout.slice(0, newline)}\n${log}`));
    };
    child.stdout.on('data', onData);
    void exited.then((exit) => reject(new Error(`the server exited (${exit.exitCode ?? exit.signal}) before listening:\n${log}`)));
  });
  // Keep reading so a chatty server never blocks on a full pipe.
  child.stdout.resume();
  return { url, pid: child.pid!, kill, log: () => log };
}
