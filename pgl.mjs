import { PGlite } from '@electric-sql/pglite';
let t=Date.now(); const db = new PGlite('/tmp/pgl-data-'+process.pid); await db.waitReady; console.log('init disk', Date.now()-t);
t=Date.now(); const r = await db.query('select 1 as x'); console.log(r.rows, Date.now()-t);
t=Date.now(); const dump = await db.dumpDataDir('none'); console.log('dump', Date.now()-t, dump.size);
await db.close();
t=Date.now(); const db2 = new PGlite({loadDataDir: dump}); await db2.waitReady; console.log('load mem', Date.now()-t);
t=Date.now(); const db3 = new PGlite('/tmp/pgl-data-'+process.pid); await db3.waitReady; console.log('reopen disk', Date.now()-t);
