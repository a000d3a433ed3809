// Two `codeshare server` instances behind HAProxy on this machine's PostgreSQL and Redis: what
// docker-compose.yml runs for a team, without images (`npm run cluster`), and what the
// scale-out tests start. The same deploy/haproxy.cfg in both.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';

export interface LocalClusterOptions {
  databaseUrl: string;
  redisUrl: string;
  /** Where HAProxy listens on 127.0.0.1; 0 picks a free port. */
  port: number;
  /** Each instance's CODESHARE_HOME goes under it. */
  home: string;
  logLevel?: string;
  /** More environment for the instances (tuning in tests). */
  env?: Record<string, string>;
}

export interface ClusterInstance {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  readonly running: boolean;
  /** The process's id while it runs. */
  readonly pid: number | null;
  /** Its stderr's last few KiB (the server log). */
  log(): string;
  /** Sends `signal` and waits for the exit. */
  stop(signal: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port. */
  start(): Promise<void>;
}

export interface LocalCluster {
  /** HAProxy's address: what clients use. */
  readonly url: string;
  readonly instances: ClusterInstance[];
  stop(): Promise<void>;
}

/** The repository's root: the folder above this module holding deploy/haproxy.cfg. */
function repositoryRoot(): string {
  for (let dir = fileURLToPath(new URL('.', import.meta.url)); dir !== '/'; dir = join(dir, '..')) {
    if (existsSync(join(dir, 'deploy', 'haproxy.cfg')) && existsSync(join(dir, 'bin', 'codeshare.js'))) return dir;
  }
  throw new Error('deploy/haproxy.cfg not found above this module');
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (!address || typeof address === 'string') throw new Error('no free port');
  return address.port;
}

class ServerInstance implements ClusterInstance {
  private child: ResultPromise | null = null;
  private stderr = '';

  constructor(
    readonly name: string,
    readonly port: number,
    private readonly args: string[],
    private readonly env: Record<string, string>,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== null;
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  log(): string {
    return this.stderr;
  }

  async start(): Promise<void> {
    const child = execa(process.execPath, [...this.args, '--port', String(this.port)], { extendEnv: false, env: this.env, reject: false, buffer: false, stdin: 'ignore' });
    this.child = child;
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-16_000);
    });
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('listening on')) resolve();
      });
      void child.then((result) => {
        if (this.child === child) this.child = null;
        reject(new Error(`instance ${this.name} exited (${result.exitCode ?? result.signal}):\n${this.stderr}`));
      });
    });
  }

  async stop(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child) return;
    child.kill(signal);
    const force = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await child;
    clearTimeout(force);
  }
}

/** Until HAProxy answers /healthz through to an instance. */
async function untilServing(url: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const status = await fetch(`${url}/healthz`).then((res) => res.status, () => 0);
    if (status === 200) return;
    if (Date.now() > deadline) throw new Error(`${url} did not start serving`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function startLocalCluster(options: LocalClusterOptions): Promise<LocalCluster> {
  const root = repositoryRoot();
  const haproxyPort = options.port || (await freePort());
  const instances: ServerInstance[] = [];
  let haproxy: ResultPromise | null = null;
  const stop = async () => {
    haproxy?.kill('SIGTERM');
    await haproxy;
    haproxy = null;
    await Promise.all(instances.map((instance) => instance.stop('SIGTERM')));
  };
  try {
    for (const name of ['a', 'b']) {
      const home = join(options.home, `instance-${name}`);
      await mkdir(home, { recursive: true });
      const args = [join(root, 'bin', 'codeshare.js'), 'server', '--host', '127.0.0.1', '--auth', 'open', '--data-dir', home];
      args.push('--database-url', options.databaseUrl, '--redis-url', options.redisUrl, '--log-level', options.logLevel ?? 'warn');
      const instance = new ServerInstance(name, await freePort(), args, { PATH: process.env.PATH ?? '', HOME: home, CODESHARE_HOME: home, ...options.env });
      instances.push(instance);
      await instance.start();
    }
    const env = {
      PATH: process.env.PATH ?? '',
      CODESHARE_BIND: `127.0.0.1:${haproxyPort}`,
      CODESHARE_SERVER_A: `127.0.0.1:${instances[0]!.port}`,
      CODESHARE_SERVER_B: `127.0.0.1:${instances[1]!.port}`,
    };
    haproxy = execa('haproxy', ['-db', '-f', join(root, 'deploy', 'haproxy.cfg')], { extendEnv: false, env, reject: false, stdin: 'ignore', stdout: 'ignore', stderr: 'pipe' });
    const started = haproxy;
    void started.then((result) => {
      if ((result as { code?: string }).code === 'ENOENT') process.stderr.write('codeshare: haproxy is not installed (Debian: apt-get install -y haproxy)\n');
    });
    const url = `http://127.0.0.1:${haproxyPort}`;
    await untilServing(url);
    return { url, instances, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
