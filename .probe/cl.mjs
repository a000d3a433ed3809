import { startLocalCluster } from '../dist/server/cluster/local-cluster.js';
import { Redis } from 'ioredis';
const cluster = await startLocalCluster({ databaseUrl: 'postgres://postgres@127.0.0.1:5432/codeshare', redisUrl: 'redis://127.0.0.1:6379', port: 0, home: '/tmp/clprobe', logLevel: 'debug' });
const [a, b] = cluster.instances;
const r = new Redis('redis://127.0.0.1:6379');
console.log('zset', await r.zrange('codeshare:instances', 0, -1, 'WITHSCORES'), Date.now());
await a.stop('SIGKILL'); console.log('killed a', Date.now());
for (let i = 0; i < 8; i++) { await new Promise(r => setTimeout(r, 2000)); console.log('zset', await r.zrange('codeshare:instances', 0, -1, 'WITHSCORES'), Date.now()); }
console.log(b.log().split('\n').filter(l => !l.includes('request')).slice(-15).join('\n'));
await cluster.stop(); r.disconnect();
