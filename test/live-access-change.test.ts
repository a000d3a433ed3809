// Access is checked when a socket opens; a change of access must reach sockets already open.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LiveTestClient } from './helpers/live-client.js';
import { apiClient, signIn, startTestServer, type TestServer } from './helpers/server.js';

describe('live sockets when access changes', () => {
  let server: TestServer;
  let owner: { token: string };

  beforeAll(async () => {
    server = await startTestServer('pglite');
    owner = await signIn(server.url, 'olive');
  });
  afterAll(async () => {
    await server.close();
  });

  async function projectWith(name: string, member: string, role: string) {
    const api = apiClient(server.url, owner.token);
    const project = (await api('POST', '/api/projects', { name })).body as { id: string };
    const user = await signIn(server.url, member);
    await api('POST', `/api/projects/${project.id}/members`, { username: member, role });
    return { projectId: project.id, token: user.token, api };
  }

  it('a demoted editor is disconnected and, reconnected, can no longer write', async () => {
    const { projectId, token, api } = await projectWith('demote', 'dora', 'editor');
    const client = await LiveTestClient.connect(server.url, projectId, token);
    const doc = client.subscribe('file:f1');
    doc.getText('content').insert(0, 'before');
    await client.untilPersisted('file:f1');

    await api('PATCH', `/api/projects/${projectId}/members/dora`, { role: 'viewer' });
    await client.until(() => client.closeCode !== null);
    expect(client.closeCode).toBe(4409);

    const again = await LiveTestClient.connect(server.url, projectId, token);
    const doc2 = again.subscribe('file:f1');
    await again.until(() => doc2.getText('content').toString() === 'before');
    doc2.getText('content').insert(0, 'after ');
    await again.until(() => again.denied.length > 0);
    expect(again.denied[0]!.reason).toMatch(/read-only/);
    const watcher = await LiveTestClient.connect(server.url, projectId, owner.token);
    const seen = watcher.subscribe('file:f1');
    await watcher.until(() => seen.getText('content').toString() === 'before');
    await again.close();
    await watcher.close();
  });

  it('a removed member and a revoked token are disconnected and cannot reconnect', async () => {
    const { projectId, token, api } = await projectWith('remove', 'remy', 'editor');
    const client = await LiveTestClient.connect(server.url, projectId, token);
    client.subscribe('index');
    await api('DELETE', `/api/projects/${projectId}/members/remy`);
    await client.until(() => client.closeCode !== null);
    await expect(LiveTestClient.connect(server.url, projectId, token)).rejects.toThrow(/404/);

    const tokenOwner = apiClient(server.url, owner.token);
    const created = (await tokenOwner('POST', '/api/tokens', { name: 'ci', projectId, role: 'viewer' })).body as {
      token: string;
      apiToken: { id: string };
    };
    const ci = await LiveTestClient.connect(server.url, projectId, created.token);
    ci.subscribe('index');
    await tokenOwner('DELETE', `/api/tokens/${created.apiToken.id}`);
    await ci.until(() => ci.closeCode !== null);
    await expect(LiveTestClient.connect(server.url, projectId, created.token)).rejects.toThrow(/401/);
  });
});
