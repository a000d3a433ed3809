// Hocuspocus 3 (the newest major that runs on Node.js 20) with its database extension storing
// into PostgreSQL (DATABASE_URL), for bench/relay-peers.ts. The extension stores each document's
// whole state, debounced (2 s after the last change, at most 10 s apart: Hocuspocus's defaults),
// where codeshare appends every update before acknowledging it.
import { Database } from '@hocuspocus/extension-database';
import { Server } from '@hocuspocus/server';
import pg from 'pg';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 4 });
await pool.query('CREATE TABLE IF NOT EXISTS documents (name text PRIMARY KEY, data bytea NOT NULL)');
const database = new Database({
  fetch: async ({ documentName }) => ((await pool.query('SELECT data FROM documents WHERE name = $1', [documentName])).rows[0]?.data as Uint8Array | undefined) ?? null,
  store: async ({ documentName, state }) => {
    await pool.query('INSERT INTO documents (name, data) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET data = EXCLUDED.data', [documentName, state]);
  },
});
const server = new Server({ port: 0, address: '127.0.0.1', quiet: true, extensions: [database] });
await server.listen();
process.stdout.write(`listening on http://127.0.0.1:${server.address.port}\n`);
