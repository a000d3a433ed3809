// The protocol version a client states when it connects: a version the server does not speak
// is refused at once, with a close code and a reason that says which side to upgrade, and the
// daemon takes that refusal as final instead of reconnecting in a loop.
import { once } from 'node:events';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import * as Y from 'yjs';
import { CloseCode, INDEX_DOC, PROTOCOL_VERSION, decodeFrame, encodeSyncStep1, messageSync } from '../common/protocol.js';
import { ServerConnection } from '../daemon/server-connection.js';
import { eventually } from './helpers/eventually.js';
import { apiClient, signIn, type TestServer } from './helpers/server.js';
import { startServerOn } from './helpers/server-on-storage.js';
import { createTestStorage, type TestStorage } from './helpers/storage.js';

interface Outcome {
  code: number;
  reason: string;
  /** Whether the server answered a subscribe first (it must not, for a refused version). */
  answered: boolean;
}

/** Connects stating `protocol` (or nothing), subscribes to the index, and reports how the socket ended. */
function connect(url: string, token: string): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
    let answered = false;
    socket.on('open', () => socket.send(encodeSyncStep1(INDEX_DOC, new Y.Doc())));
    socket.on('message', (data: Buffer) => {
      if (decodeFrame(new Uint8Array(data)).type !== messageSync) return;
      answered = true;
      socket.close(1000, 'done');
    });
    socket.on('close', (code, reason) => resolve({ code, reason: reason.toString(), answered }));
    socket.on('error', reject);
  });
}

describe('protocol version', () => {
  let storage: TestStorage;
  let server: TestServer;
  let token: string;
  let url: string;

  beforeAll(async () => {
    storage = await createTestStorage('pglite');
    server = await startServerOn(storage);
    token = (await signIn(server.url, 'alice')).token;
    const project = await apiClient(server.url, token)('POST', '/api/projects', { name: 'versions' });
    url = `${server.url.replace(/^http/, 'ws')}/api/projects/${project.body.id}/ws`;
  });
  afterAll(async () => {
    await server?.close();
    await storage?.dispose();
  });

  it('speaks its own version, and tells a version 1 daemon (one that states none) to upgrade codeshare', async () => {
    expect(await connect(`${url}?protocol=${PROTOCOL_VERSION}`, token)).toEqual({ code: 1000, reason: 'done', answered: true });
    expect(await connect(url, token)).toEqual({ ...CloseCode.UpgradeClient, answered: false });
    expect(await connect(`${url}?protocol=1`, token)).toEqual({ ...CloseCode.UpgradeClient, answered: false });
  });

  it('refuses a newer client with "upgrade the server", and what is no version as malformed', async () => {
    expect(await connect(`${url}?protocol=${PROTOCOL_VERSION + 1}`, token)).toEqual({ ...CloseCode.UpgradeServer, answered: false });
    expect(await connect(`${url}?protocol=0`, token)).toMatchObject({ code: CloseCode.Malformed.code, answered: false });
    expect(await connect(`${url}?protocol=two`, token)).toMatchObject({ code: CloseCode.Malformed.code, answered: false });
  });

  it('the daemon takes "upgrade codeshare" as final and says so, without reconnecting', async () => {
    // A server of a later release, which no longer speaks this daemon's version.
    const later = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await once(later, 'listening');
    let connections = 0;
    later.on('connection', (socket) => {
      connections++;
      socket.close(CloseCode.UpgradeClient.code, CloseCode.UpgradeClient.reason);
    });
    const { port } = later.address() as { port: number };
    const connection = new ServerConnection({ serverUrl: `http://127.0.0.1:${port}`, token: 't', projectId: 'p', log: pino({ level: 'silent' }), minReconnectMs: 1, maxReconnectMs: 5 });
    try {
      connection.start();
      await eventually(() => expect(connection.state).toBe('refused'), 10_000, 10);
      expect(connection.refusedReason).toMatch(/upgrade codeshare/);
      // With 1-5 ms reconnects, a retrying client would have come back many times by the time a
      // second, deliberate connection has been served.
      const probe = new WebSocket(`ws://127.0.0.1:${port}`);
      await once(probe, 'close');
      expect(connections).toBe(2);
    } finally {
      await connection.stop();
      await new Promise((resolve) => later.close(resolve));
    }
  });
});
