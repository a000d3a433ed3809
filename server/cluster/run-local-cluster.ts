// `npm run cluster`: two instances behind HAProxy on this machine's PostgreSQL and Redis, the
// local twin of docker-compose.yml. DATABASE_URL (default: database `codeshare` of the local
// PostgreSQL, created when missing), REDIS_URL (default: the local Redis), CODESHARE_PORT
// (HAProxy's, default 4455). Ctrl-C stops all three.
import { join } from 'node:path';
import pg from 'pg';
import { codesharePaths } from '../../common/paths.js';
import { startLocalCluster } from './local-cluster.js';

const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/codeshare';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const port = Number(process.env.CODESHARE_PORT ?? 4455);

/** The database of DATABASE_URL, created if this PostgreSQL lacks it (the instances migrate it). */
async function ensureDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (found.rowCount === 0) await client.query(`create database "${name.replace(/"/g, '""')}"`);
  } finally {
    await client.end();
  }
}

await ensureDatabase(databaseUrl);
const cluster = await startLocalCluster({ databaseUrl, redisUrl, port, home: join(codesharePaths().dataDir, 'cluster'), logLevel: process.env.CODESHARE_LOG_LEVEL ?? 'info' });
process.stdout.write(
  `codeshare cluster on ${cluster.url} (HAProxy, deploy/haproxy.cfg)\n` +
    cluster.instances.map((instance) => `  instance ${instance.name}: ${instance.url}\n`).join('') +
    `  sign in: codeshare auth login --server ${cluster.url} --name <you>\n  Ctrl-C stops them\n`,
);
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  void cluster.stop().then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
