import { startLocalCluster } from '../dist/server/cluster/local-cluster.js';
import { Redis } from 'ioredis';
import { spawn } from 'node:child_process';
const port = 46124;
const start = () => spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
let srv = start();
await new Promise(r => setTimeout(r, 300));
const cluster = await startLocalCluster({ databaseUrl: 'postgres://postgres@127.0.0.1:5432/codeshare', redisUrl: `redis://127.0.0.1:${port}`, port: 0, home: '/tmp/clprobe', logLevel: 'debug' });
const [a, b] = cluster.instances;
await new Promise(r => setTimeout(r, 1000));
srv.kill('SIGKILL'); await new Promise(r => setTimeout(r, 1500)); srv = start(); console.log('redis restarted');
await new Promise(r => setTimeout(r, 4000));
const r = new Redis(`redis://127.0.0.1:${port}`);
console.log('zset', await r.zrange('codeshare:instances', 0, -1, 'WITHSCORES'), Date.now());
await a.stop('SIGKILL'); console.log('killed a', Date.now());
for (let i = 0; i < 8; i++) { await new Promise(r => setTimeout(r, 2000)); console.log('zset', await r.zrange('codeshare:instances', 0, -1), Date.now()); }
console.log(b.log().split('\n').filter(l => !l.includes('request')).slice(-15).join('\n'));
await cluster.stop(); r.disconnect(); srv.kill();
