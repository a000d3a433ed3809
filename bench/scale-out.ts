// Several instances (DESIGN.md, Scale-out): two `codeshare server` processes behind HAProxy on
// one PostgreSQL and the machine's Redis (server/cluster/local-cluster.ts, as `npm run cluster`).
//
// 1. Relay within an instance and across instances, in one run under one load: 20 rooms x 10
//    raw-frame clients (bench/peers/relay-clients.ts, the /yjs endpoint), each room's clients
//    alternating between instance a and b, 300 updates/s in total. A reception is "within"
//    when sender and receiver are on one instance (relayed at once, before the append) and
//    "across" otherwise (stored, then carried by the project's Redis stream).
// 2. SIGKILL of an instance: four daemons in one project through HAProxy (spread over both
//    instances), one instance killed, each daemon writes a file at once; the time until every
//    daemon is synced again (reconnected through HAProxy, its file stored).
import { fork } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startLocalCluster, type LocalCluster } from '../server/cluster/local-cluster.js';
import type { ClientsPlan, ClientsReport } from './peers/relay-clients.js';
import { BenchUser, Cleanup, childMessage, freshPostgresDatabase, median, ms, openSignIn, percentile, seconds, sleep, table, tempDir } from './lib.js';


const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const RUNS = Number(process.env.BENCH_SCALE_OUT_RUNS ?? 3);
const ROOMS = 20;
const CLIENTS_PER_ROOM = 10;
const RATE = 300;
const CLIENT_PROCESSES = 2;
const WARMUP_MS = 2000;
const MEASURE_MS = 8000;
const DRAIN_MS = 10_000;
const DAEMONS = 4;
const RECOVERY_TIMEOUT_MS = 60_000;
const PEERS = join(import.meta.dirname, 'peers');

async function startCluster(cleanup: Cleanup): Promise<LocalCluster> {
  const databaseUrl = await freshPostgresDatabase(cleanup);
  if (!databaseUrl) throw new Error('the scale-out benchmark needs PostgreSQL (BENCH_POSTGRES_URL)');
  const cluster = await startLocalCluster({ databaseUrl, redisUrl: REDIS_URL, port: 0, home: await tempDir(cleanup, 'cluster') });
  cleanup.add('stop the cluster', () => cluster.stop());
  return cluster;
}

/** A project per room, the room a file doc on /yjs; client i of each room on instance i mod 2. */
async function roomsAcross(cluster: LocalCluster): Promise<ClientsPlan['rooms']> {
  const [a, b] = cluster.instances;
  const tokens: string[] = [];
  for (let i = 0; i < CLIENTS_PER_ROOM; i++) tokens.push(await openSignIn(a!.url, `peer${i}`));
  const api = async (path: string, body: unknown) => {
    const response = await fetch(a!.url + path, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[0]}` }, body: JSON.stringify(body) });
    if (!response.ok) throw new Error(`POST ${path}: ${response.status} ${await response.text()}`);
    return (await response.json()) as { id: string };
  };
  const rooms: ClientsPlan['rooms'] = [];
  for (let r = 0; r < ROOMS; r++) {
    const project = await api('/api/projects', { name: `scale-${r}` });
    for (let i = 1; i < CLIENTS_PER_ROOM; i++) await api(`/api/projects/${project.id}/members`, { username: `peer${i}`, role: 'editor' });
    const urls = tokens.map((token, i) => `${(i % 2 === 0 ? a! : b!).url.replace(/^http/, 'ws')}/yjs/${project.id}/file:room?token=${token}`);
    rooms.push({ docName: 'file:room', urls, token: '' });
  }
  return rooms;
}

interface RelayFigures {
  same: number[];
  across: number[];
  delivered: number;
}

async function relayRun(): Promise<RelayFigures> {
  const cleanup = new Cleanup();
  try {
    const cluster = await startCluster(cleanup);
    const rooms = await roomsAcross(cluster);
    const children = Array.from({ length: CLIENT_PROCESSES }, () => fork(join(PEERS, 'relay-clients.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
    cleanup.add('stop the client processes', () => children.forEach((child) => child.kill()));
    const ready = children.map((child) => childMessage<string>(child));
    const instanceOfClient = Array.from({ length: CLIENTS_PER_ROOM }, (_, i) => i % 2);
    children.forEach((child, p) => {
      const plan: ClientsPlan = { framing: 'y-websocket', rooms: rooms.filter((_, r) => r % CLIENT_PROCESSES === p), instanceOfClient, rate: RATE / CLIENT_PROCESSES, warmupMs: WARMUP_MS, measureMs: MEASURE_MS, drainMs: DRAIN_MS };
      child.send(plan);
    });
    await Promise.all(ready);
    const reports = children.map((child) => childMessage<ClientsReport>(child));
    children.forEach((child) => child.send('go'));
    const done = await Promise.all(reports);
    const received = done.reduce((sum, report) => sum + report.relay.length, 0);
    const expected = done.reduce((sum, report) => sum + report.expected, 0);
    return { same: done.flatMap((r) => r.relaySame), across: done.flatMap((r) => r.relayAcross), delivered: expected > 0 ? received / expected : 0 };
  } finally {
    await cleanup.runAll();
  }
}

/** From SIGKILL of one instance until every daemon of the project is synced with its new file. */
async function killRun(): Promise<number> {
  const cleanup = new Cleanup();
  try {
    const cluster = await startCluster(cleanup);
    const users: BenchUser[] = [];
    for (let i = 0; i < DAEMONS; i++) users.push(await BenchUser.signIn(cleanup, `dev${i}`, cluster.url));
    const work = await tempDir(cleanup, 'folders');
    const folders = users.map((_, i) => join(work, `folder-${i}`));
    await mkdir(folders[0]!);
    await writeFile(join(folders[0]!, 'readme.txt'), 'one project, four daemons\n');
    const shared = await users[0]!.cli<{ project: string }>(['share', folders[0]!, '--name', 'killed', '--json']);
    for (let i = 1; i < DAEMONS; i++) {
      await users[0]!.cli(['members', shared.project, 'add', users[i]!.name, '--role', 'editor', '--json']);
      await users[i]!.cli(['join', shared.project, folders[i]!, '--json']);
    }
    const allSynced = async (expectFiles: number) => {
      for (let i = 0; i < DAEMONS; i++) {
        const status = await users[i]!.cli<{ folders: { state: string; files: number }[] }>(['status', '--json']);
        const folder = status.folders[0];
        if (folder?.state !== 'synced' || folder.files < expectFiles) return false;
      }
      return true;
    };
    for (const deadline = performance.now() + RECOVERY_TIMEOUT_MS; !(await allSynced(1)); ) {
      if (performance.now() > deadline) throw new Error('the daemons did not sync before the kill');
      await sleep(100);
    }
    const killedAt = performance.now();
    await cluster.instances[0]!.stop('SIGKILL');
    await Promise.all(folders.map((folder, i) => writeFile(join(folder, `after-kill-${i}.txt`), `written by dev${i} right after the kill\n`)));
    for (;;) {
      if (await allSynced(1 + DAEMONS)) return performance.now() - killedAt;
      if (performance.now() - killedAt > RECOVERY_TIMEOUT_MS) throw new Error('the daemons were not all back within a minute');
      await sleep(50);
    }
  } finally {
    await cleanup.runAll();
  }
}

export default {
  name: 'Scale-out: two instances behind HAProxy',
  async run(): Promise<string> {
    const relays: RelayFigures[] = [];
    const recoveries: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const relay = await relayRun();
      relays.push(relay);
      process.stderr.write(`bench scale-out run ${run + 1}: within p50 ${ms(percentile(relay.same, 50))} p99 ${ms(percentile(relay.same, 99))}, across p50 ${ms(percentile(relay.across, 50))} p99 ${ms(percentile(relay.across, 99))}, delivered ${(relay.delivered * 100).toFixed(1)}%\n`);
      const recovery = await killRun();
      recoveries.push(recovery);
      process.stderr.write(`bench scale-out run ${run + 1}: SIGKILL to every daemon synced ${seconds(recovery)}\n`);
    }
    const m = (pick: (f: RelayFigures) => number) => median(relays.map(pick));
    const within = [m((f) => percentile(f.same, 50)), m((f) => percentile(f.same, 99))];
    const across = [m((f) => percentile(f.across, 50)), m((f) => percentile(f.across, 99))];
    return [
      `Two \`codeshare server\` processes behind HAProxy (deploy/haproxy.cfg) on one PostgreSQL and the machine's Redis. Relay: ${ROOMS} rooms × ${CLIENTS_PER_ROOM} raw-frame clients on the /yjs endpoint (bench/peers/relay-clients.ts), each room's clients alternating between instance a and b, ${RATE} updates/s in total, ${WARMUP_MS / 1000} s warm-up, ${MEASURE_MS / 1000} s measured; "within" receptions had sender and receiver on one instance (relayed before the append), "across" on two (after the append commits, through the project's Redis stream). ${RUNS} runs, medians.`,
      '',
      table(
        ['reception', 'relay p50', 'relay p99', 'ratio to within (p50 / p99)'],
        [
          ['within an instance', ms(within[0]!), ms(within[1]!), '1.0 / 1.0'],
          ['across instances', ms(across[0]!), ms(across[1]!), `${(across[0]! / within[0]!).toFixed(1)} / ${(across[1]! / within[1]!).toFixed(1)}`],
        ],
      ),
      '',
      `Delivered: ${(m((f) => f.delivered) * 100).toFixed(1)}% of the receptions owed.`,
      '',
      `SIGKILL of one instance with ${DAEMONS} daemons of one project connected through HAProxy, each writing a file right after the kill: every daemon synced again (reconnected, its file stored) after ${seconds(median(recoveries))} (median; runs: ${recoveries.map(seconds).join(', ')}).`,
    ].join('\n');
  },
};
