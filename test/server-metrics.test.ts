// GET /metrics: the Prometheus text an operator scrapes, counting what the server really did.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LiveTestClient } from './helpers/live-client.js';
import { apiClient, signIn, startTestServer, type TestServer } from './helpers/server.js';

/** The value of a sample line (`name{labels} value`), or undefined when absent. */
function sample(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('GET /metrics', () => {
  let server: TestServer;
  let token: string;
  let projectId: string;

  beforeAll(async () => {
    // Storage plays no part in what is counted; PostgreSQL starts fastest.
    server = await startTestServer('postgres');
    token = (await signIn(server.url, 'alice')).token;
    projectId = (await apiClient(server.url, token)('POST', '/api/projects', { name: 'metered' })).body.id;
  });
  afterAll(async () => {
    await server?.close();
  });

  const scrape = async () => {
    const response = await fetch(`${server.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return response.text();
  };

  it('counts relayed and persisted updates, append batches, loaded rooms, sockets and the event loop lag', async () => {
    const before = await scrape();
    expect(sample(before, 'codeshare_relayed_updates_total')).toBe(0);
    expect(sample(before, 'codeshare_sockets')).toBe(0);

    const sender = await LiveTestClient.connect(server.url, projectId, token);
    const receiver = await LiveTestClient.connect(server.url, projectId, token);
    try {
      const text = sender.subscribe('file:m1').getText('content');
      const received = receiver.subscribe('file:m1').getText('content');
      for (let i = 0; i < 3; i++) text.insert(text.length, `line ${i}\n`);
      await sender.untilPersisted('file:m1');
      await receiver.until(() => received.toString() === 'line 0\nline 1\nline 2\n');

      // Every update relayed is stored (a sync reply that repeats the edits counts as one more).
      let during = await scrape();
      for (let tries = 0; sample(during, 'codeshare_persisted_updates_total') !== sample(during, 'codeshare_relayed_updates_total'); tries++) {
        expect(tries).toBeLessThan(100);
        await new Promise((resolve) => setTimeout(resolve, 50));
        during = await scrape();
      }
      const persisted = sample(during, 'codeshare_persisted_updates_total')!;
      expect(persisted).toBeGreaterThanOrEqual(3);
      const batches = sample(during, 'codeshare_append_batch_rows_count')!;
      expect(batches).toBeGreaterThanOrEqual(1);
      expect(batches).toBeLessThanOrEqual(persisted);
      expect(sample(during, 'codeshare_append_batch_rows_sum')).toBe(persisted);
      expect(sample(during, 'codeshare_append_seconds_count')).toBe(batches);
      expect(sample(during, 'codeshare_rooms_loaded')).toBeGreaterThanOrEqual(1);
      expect(sample(during, 'codeshare_sockets')).toBe(2);
      expect(sample(during, 'nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
      expect(sample(during, 'nodejs_eventloop_lag_p99_seconds')).toBeGreaterThanOrEqual(0);
    } finally {
      await sender.close();
      await receiver.close();
    }
  });

  it('needs no token, and says nothing of users, projects or content', async () => {
    const text = await scrape();
    expect(text).not.toContain('alice');
    expect(text).not.toContain(projectId);
    expect(text).not.toContain('line 0');
  });
});
