import { afterEach, describe, expect, it } from 'vitest';
import { STORAGE_KINDS } from './helpers/storage.js';
import { apiClient, signIn, startTestServer, type TestServer } from './helpers/server.js';

describe.each(STORAGE_KINDS)('auth [%s]', (kind) => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('signs in by name in open mode and knows the caller', async () => {
    server = await startTestServer(kind);
    const { token, user } = await signIn(server.url, 'alice');
    expect(token).toMatch(/^cs_/);
    const me = await apiClient(server.url, token)('GET', '/api/me');
    expect(me.status).toBe(200);
    expect(me.body.user).toMatchObject({ id: user.id, username: 'alice' });
    const again = await signIn(server.url, 'ALICE');
    expect(again.user.id).toBe(user.id);
  });

  it('refuses open sign-in when it is off', async () => {
    server = await startTestServer(kind, (c) => {
      c.openAuth = false;
    });
    const res = await apiClient(server.url)('POST', '/api/auth/open', { username: 'mallory' });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('CS_ERR_OPEN_AUTH_DISABLED');
  });

  it('answers 401 with the error shape without a token or with a wrong one', async () => {
    server = await startTestServer(kind);
    const none = await apiClient(server.url)('GET', '/api/me');
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe('CS_ERR_UNAUTHORIZED');
    const wrong = await apiClient(server.url, 'cs_not-a-token')('GET', '/api/projects');
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('CS_ERR_INVALID_TOKEN');
  });
});
