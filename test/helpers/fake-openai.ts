// A small OpenAI-compatible chat-completions server for tests: POST /v1/chat/completions with
// stream: true answers in the streaming wire format (data: {chunk}\n\n ... data: [DONE]), and
// every request it receives is recorded. Each request takes the next scripted behaviour; the
// last one repeats.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type FakeBehaviour =
  /** Streams these pieces, then a finish chunk, a usage chunk and [DONE]. */
  | { kind: 'answer'; pieces: string[]; usage?: { prompt_tokens: number; completion_tokens: number }; delayMs?: number }
  /** Answers with this HTTP status and an OpenAI error body. */
  | { kind: 'status'; status: number; message: string; headers?: Record<string, string> }
  /** Streams these pieces, then destroys the connection. */
  | { kind: 'drop'; pieces: string[] }
  /** Streams these pieces, then sends nothing more (and never ends). */
  | { kind: 'stall'; pieces: string[] }
  /** Never answers at all. */
  | { kind: 'hang' };

export interface RecordedRequest {
  path: string;
  headers: IncomingMessage['headers'];
  body: {
    model: string;
    stream?: boolean;
    stream_options?: { include_usage?: boolean };
    messages: { role: string; content: string }[];
  };
}

export interface FakeOpenAi {
  /** The base URL to configure: http://127.0.0.1:<port>/v1 */
  baseUrl: string;
  requests: RecordedRequest[];
  /** Sets what the next requests get. */
  script(...behaviours: FakeBehaviour[]): void;
  /** Resolves once `count` requests were received. */
  untilRequests(count: number): Promise<void>;
  close(): Promise<void>;
}

const chunk = (content: string | null, finish: string | null = null) =>
  `data: ${JSON.stringify({
    id: 'chatcmpl-test',
    object: 'chat.completion.chunk',
    created: 1_700_000_000,
    model: 'fake-model',
    choices: [{ index: 0, delta: content === null ? {} : { role: 'assistant', content }, finish_reason: finish }],
  })}\n\n`;

const usageChunk = (usage: { prompt_tokens: number; completion_tokens: number }) =>
  `data: ${JSON.stringify({
    id: 'chatcmpl-test',
    object: 'chat.completion.chunk',
    created: 1_700_000_000,
    model: 'fake-model',
    choices: [],
    usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
  })}\n\n`;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function startFakeOpenAi(): Promise<FakeOpenAi> {
  let behaviours: FakeBehaviour[] = [{ kind: 'answer', pieces: ['Hello', ' there.'] }];
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const waiters: (() => void)[] = [];

  const respond = async (req: IncomingMessage, res: ServerResponse, body: string) => {
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'not found' } }));
      return;
    }
    requests.push({ path: req.url, headers: req.headers, body: JSON.parse(body) });
    for (const waiter of waiters.splice(0)) waiter();
    const behaviour = (behaviours.length > 1 ? behaviours.shift() : behaviours[0])!;
    switch (behaviour.kind) {
      case 'status':
        res.writeHead(behaviour.status, { 'content-type': 'application/json', ...behaviour.headers });
        res.end(JSON.stringify({ error: { message: behaviour.message, type: 'test_error', code: null } }));
        return;
      case 'hang':
        return;
      default: {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        res.flushHeaders();
        for (const piece of behaviour.pieces) {
          res.write(chunk(piece));
          await pause(behaviour.kind === 'answer' ? (behaviour.delayMs ?? 5) : 5);
        }
        if (behaviour.kind === 'drop') {
          await pause(20);
          req.socket.destroy();
          return;
        }
        if (behaviour.kind === 'stall') return;
        res.write(chunk(null, 'stop'));
        res.write(usageChunk(behaviour.usage ?? { prompt_tokens: 321, completion_tokens: behaviour.pieces.length }));
        res.end('data: [DONE]\n\n');
      }
    }
  };

  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (data: string) => (body += data));
    req.on('end', () => void respond(req, res, body));
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    script: (...next) => {
      behaviours = next;
    },
    untilRequests: async (count) => {
      while (requests.length < count) await new Promise<void>((resolve) => waiters.push(resolve));
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The system message of a recorded request: the context the server chose. */
export const systemMessage = (request: RecordedRequest | undefined) => request?.body.messages.find((m) => m.role === 'system')?.content ?? '';
