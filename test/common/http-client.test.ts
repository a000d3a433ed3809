// The shared REST transport against a real node:http server: cursor paging, the refusal's
// status/code/message, and the kinds of failure that are not refusals.
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpClient, HttpError, PAGE_SIZE } from '../../common/http-client.js';

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function failure(promise: Promise<unknown>): Promise<HttpError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(HttpError);
  return err as HttpError;
}

describe('HttpClient', () => {
  let server: Server;
  let baseUrl: string;
  const seen: { url: string; authorization?: string; contentType?: string; body: Buffer }[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'http://localhost');
        seen.push({ url: req.url ?? '', authorization: req.headers.authorization, contentType: req.headers['content-type'], body: Buffer.concat(chunks) });
        const json = (status: number, body: unknown) => {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(JSON.stringify(body));
        };
        if (url.pathname === '/api/items') {
          const pages: Record<string, { items: number[]; nextCursor: string | null }> = {
            '': { items: [1, 2], nextCursor: 'b' },
            b: { items: [3], nextCursor: 'c' },
            c: { items: [4, 5], nextCursor: null },
          };
          return json(200, pages[url.searchParams.get('cursor') ?? '']);
        }
        if (url.pathname === '/api/refuse') return json(409, { error: { code: 'CS_ERR_CONFLICT', message: 'that name is taken' } });
        if (url.pathname === '/api/refuse-plain') {
          res.writeHead(502, { 'content-type': 'text/html' });
          return res.end('<html>bad gateway</html>');
        }
        if (url.pathname === '/api/html') {
          res.writeHead(200, { 'content-type': 'text/html' });
          return res.end('<html>hello</html>');
        }
        if (url.pathname === '/api/echo') {
          res.writeHead(200, { 'content-type': 'application/octet-stream' });
          return res.end(Buffer.concat(chunks));
        }
        if (url.pathname === '/api/slow') return void setTimeout(() => json(200, {}), 2_000);
        json(404, { error: { code: 'CS_ERR_NOT_FOUND', message: 'no such route' } });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('follows nextCursor to the last page, PAGE_SIZE at a time, with the bearer token and query', async () => {
    seen.length = 0;
    const http = new HttpClient(baseUrl + '//', 'tok-1');
    expect(http.baseUrl).toBe(baseUrl.replace(/\/$/, ''));
    expect(await http.all<number>('/api/items', { q: 'x y', skip: undefined })).toEqual([1, 2, 3, 4, 5]);
    expect(seen.map((r) => new URL(r.url, 'http://h').searchParams.get('cursor'))).toEqual([null, 'b', 'c']);
    for (const request of seen) {
      const params = new URL(request.url, 'http://h').searchParams;
      expect(params.get('limit')).toBe(String(PAGE_SIZE));
      expect(params.get('q')).toBe('x y');
      expect(params.has('skip')).toBe(false);
      expect(request.authorization).toBe('Bearer tok-1');
    }
  });

  it('sends raw bytes as octet-stream and reads them back byte for byte', async () => {
    seen.length = 0;
    const bytes = Uint8Array.from([0xef, 0xbb, 0xbf, 0, 255, 10]);
    const echoed = await new HttpClient(baseUrl, null).bytes('PUT', '/api/echo', { bytes });
    expect([...echoed]).toEqual([...bytes]);
    expect(seen[0]!.contentType).toBe('application/octet-stream');
    expect(seen[0]!.authorization).toBeUndefined();
  });

  it('a refusal carries the status, the server code and message, the method and the path', async () => {
    const err = await failure(new HttpClient(baseUrl, 't').json('POST', '/api/refuse', { body: { name: 'a' } }));
    expect(err).toMatchObject({ kind: 'refused', status: 409, code: 'CS_ERR_CONFLICT', serverMessage: 'that name is taken', method: 'POST', path: '/api/refuse' });
    expect(err.message).toBe('that name is taken');
  });

  it('a refusal without the error body says what answered what', async () => {
    const err = await failure(new HttpClient(baseUrl, 't').send('GET', '/api/refuse-plain'));
    expect(err).toMatchObject({ kind: 'refused', status: 502, code: undefined, serverMessage: undefined });
    expect(err.message).toBe('GET /api/refuse-plain answered 502');
  });

  it('a 2xx that is not JSON is kind not-json', async () => {
    const err = await failure(new HttpClient(baseUrl, 't').json('GET', '/api/html'));
    expect(err).toMatchObject({ kind: 'not-json', status: 200, method: 'GET', path: '/api/html' });
  });

  it('a port nothing listens on is kind network, with the system code', async () => {
    const err = await failure(new HttpClient(`http://127.0.0.1:${await closedPort()}`, 't').json('GET', '/api/items'));
    expect(err).toMatchObject({ kind: 'network', networkCode: 'ECONNREFUSED', status: undefined });
  });

  it('no answer in time is kind timeout', async () => {
    const err = await failure(new HttpClient(baseUrl, 't', 200).json('GET', '/api/slow'));
    expect(err.kind).toBe('timeout');
  });
});
