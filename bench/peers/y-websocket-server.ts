// The yjs project's own y-websocket server (@y/websocket-server 0.1.1, in memory): the floor for
// a Node.js Yjs relay in bench/relay-peers.ts. Its src/server.js as it ships, but on a free port
// chosen by the system and announced on stdout as the benchmark's other servers do.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { setupWSConnection } from '@y/websocket-server/utils';

const sockets = new WebSocketServer({ noServer: true });
const server = createServer((_request, response) => response.end('okay'));
server.on('upgrade', (request, socket, head) => {
  sockets.handleUpgrade(request, socket, head, (ws) => setupWSConnection(ws, request));
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
