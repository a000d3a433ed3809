import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordFileActivity } from '../server/repos/activity.js';
import { closeSessionsOfGoneInstances, closeParticipant, openParticipant } from '../server/repos/sessions.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { STORAGE_KINDS } from './helpers/storage.js';
import { caller, collectPages, createProject, projectUrl } from './helpers/projects.js';

describe.each(STORAGE_KINDS)('file activity [%s]', (kind) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(kind);
  });
  afterAll(async () => {
    await server?.close();
  });

  it('lists what happened newest first, with who did it', async () => {
    const owner = await caller(server, 'act-owner');
    const project = await createProject(server, owner, 'history');
    const db = server.app.db;
    await recordFileActivity(db, { projectId: project.id, fileId: 'f1', path: 'a.ts', action: 'created', userId: owner.user.id, linesAdded: 10 });
    await recordFileActivity(db, { projectId: project.id, fileId: 'f1', path: 'a.ts', action: 'edited', userId: owner.user.id, linesAdded: 2, linesRemoved: 1 });
    await recordFileActivity(db, { projectId: project.id, fileId: 'f1', path: 'b.ts', oldPath: 'a.ts', action: 'renamed' });
    await recordFileActivity(db, { projectId: project.id, fileId: 'f2', path: 'c.ts', action: 'deleted', userId: owner.user.id });

    const res = await owner.api('GET', projectUrl(project.fullName, '/activity'));
    expect(res.status).toBe(200);
    expect(res.body.items.map((a: any) => [a.action, a.path])).toEqual([
      ['deleted', 'c.ts'],
      ['renamed', 'b.ts'],
      ['edited', 'a.ts'],
      ['created', 'a.ts'],
    ]);
    expect(res.body.items[1]).toEqual({
      id: expect.any(Number),
      fileId: 'f1',
      path: 'b.ts',
      oldPath: 'a.ts',
      action: 'renamed',
      user: null,
      linesAdded: 0,
      linesRemoved: 0,
      createdAt: expect.any(String),
    });
    expect(res.body.items[2]).toMatchObject({ user: 'act-owner', linesAdded: 2, linesRemoved: 1, oldPath: null });

    // A file's history under its old name includes the rename that moved it away.
    const old = await owner.api('GET', projectUrl(project.id, '/activity?path=a.ts'));
    expect(old.body.items.map((a: any) => a.action)).toEqual(['renamed', 'edited', 'created']);
    const none = await owner.api('GET', projectUrl(project.id, '/activity?path=zzz'));
    expect(none.body).toEqual({ items: [], nextCursor: null });
  });

  it('pages through every entry exactly once, filtered or not', async () => {
    const owner = await caller(server, 'act-pager');
    const other = await caller(server, 'act-pager-other');
    const project = await createProject(server, owner, 'paged');
    const elsewhere = await createProject(server, other, 'elsewhere');
    for (let i = 0; i < 17; i++) {
      await recordFileActivity(server.app.db, { projectId: project.id, fileId: `f${i % 3}`, path: `p${i % 3}`, action: 'edited' });
      await recordFileActivity(server.app.db, { projectId: elsewhere.id, fileId: 'x', path: 'p0', action: 'edited' });
    }
    const all = await collectPages(owner.api, projectUrl(project.id, '/activity'), 4);
    expect(all.items).toHaveLength(17);
    const ids = all.items.map((a: any) => a.id);
    expect(new Set(ids).size).toBe(17);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    const filtered = await collectPages(owner.api, projectUrl(project.id, '/activity?path=p0'), 2);
    expect(filtered.items).toHaveLength(6);
  });

  it('hides a private project\'s activity from non-members and lets viewers read it', async () => {
    const owner = await caller(server, 'act-vis-owner');
    const viewer = await caller(server, 'act-vis-viewer');
    const stranger = await caller(server, 'act-vis-stranger');
    const project = await createProject(server, owner, 'private-history', { members: [[viewer, 'viewer']] });
    await recordFileActivity(server.app.db, { projectId: project.id, fileId: 'f', path: 'secret.txt', action: 'created' });
    const hidden = await stranger.api('GET', projectUrl(project.id, '/activity'));
    expect(hidden.status).toBe(404);
    expect(hidden.body.error.code).toBe('CS_ERR_PROJECT_NOT_FOUND');
    expect((await viewer.api('GET', projectUrl(project.id, '/activity'))).body.items).toHaveLength(1);
    const badCursor = await owner.api('GET', projectUrl(project.id, `/activity?cursor=${Buffer.from('["x"]').toString('base64url')}`));
    expect(badCursor.status).toBe(400);
    expect(badCursor.body.error.code).toBe('CS_ERR_BAD_REQUEST');
  });
});

describe.each(STORAGE_KINDS)('collaboration sessions [%s]', (kind) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(kind);
  });
  afterAll(async () => {
    await server?.close();
  });

  it('groups people who overlap into one session that ends when the last one leaves', async () => {
    const alice = await caller(server, 'ses-alice');
    const bob = await caller(server, 'ses-bob');
    const project = await createProject(server, alice, 'pairing', { members: [[bob, 'editor']] });
    const db = server.app.db;

    const a = await openParticipant(db, project.id, alice.user.id, 'daemon');
    const b = await openParticipant(db, project.id, bob.user.id, 'cli');
    expect(await closeParticipant(db, a)).toEqual({ sessionEnded: false });

    let res = await bob.api('GET', projectUrl(project.fullName, '/sessions'));
    expect(res.status).toBe(200);
    expect(res.body.items).toHaveLength(1);
    const [open] = res.body.items;
    expect(open).toEqual({
      id: expect.any(String),
      startedAt: expect.any(String),
      endedAt: null,
      participants: [
        { username: 'ses-alice', client: 'daemon', joinedAt: expect.any(String), leftAt: expect.any(String) },
        { username: 'ses-bob', client: 'cli', joinedAt: expect.any(String), leftAt: null },
      ],
    });

    expect(await closeParticipant(db, b)).toEqual({ sessionEnded: true });
    // Closing again, or closing an unknown participant, changes nothing.
    expect(await closeParticipant(db, b)).toEqual({ sessionEnded: false });
    expect(await closeParticipant(db, '00000000-0000-4000-8000-000000000000')).toEqual({ sessionEnded: false });

    await openParticipant(db, project.id, alice.user.id, 'daemon');
    res = await alice.api('GET', projectUrl(project.id, '/sessions'));
    expect(res.body.items).toHaveLength(2);
    const [latest, first] = res.body.items;
    expect(first.id).toBe(open.id);
    expect(first.endedAt).not.toBeNull();
    expect(first.participants.every((p: any) => p.leftAt !== null)).toBe(true);
    expect(latest.endedAt).toBeNull();
    expect(latest.participants.map((p: any) => p.username)).toEqual(['ses-alice']);
  });

  it('puts simultaneous joins into one session', async () => {
    const owner = await caller(server, 'ses-race-owner');
    const project = await createProject(server, owner, 'race');
    const ids = await Promise.all(
      Array.from({ length: 6 }, (_, i) => openParticipant(server.app.db, project.id, owner.user.id, `client-${i}`)),
    );
    expect(new Set(ids).size).toBe(6);
    const res = await owner.api('GET', projectUrl(project.id, '/sessions'));
    expect(res.body.items).toHaveLength(1);
    expect(res.body.items[0].participants).toHaveLength(6);
  });

  it('pages newest first through every session exactly once, even within one millisecond', async () => {
    const owner = await caller(server, 'ses-page-owner');
    const project = await createProject(server, owner, 'many');
    // Times that differ only in microseconds, and a tie, are what a millisecond cursor gets wrong.
    const times = [
      '2026-01-01T00:00:00.000001Z',
      '2026-01-01T00:00:00.000002Z',
      '2026-01-01T00:00:00.000002Z',
      '2026-01-01T00:00:00.000900Z',
      '2026-01-02T00:00:00Z',
    ];
    const inserted = await server.app.db
      .insertInto('collaboration_sessions')
      .values(times.map((t) => ({ id: crypto.randomUUID(), project_id: project.id, started_at: t, ended_at: t })))
      .returning('id')
      .execute();
    for (let i = 0; i < 4; i++) {
      const p = await openParticipant(server.app.db, project.id, owner.user.id, 'daemon');
      await closeParticipant(server.app.db, p);
    }
    for (const limit of [1, 2, 3]) {
      const { items } = await collectPages(owner.api, projectUrl(project.id, '/sessions'), limit);
      expect(items).toHaveLength(9);
      expect(new Set(items.map((s: any) => s.id)).size).toBe(9);
      for (const { id } of inserted) expect(items.some((s: any) => s.id === id)).toBe(true);
      const starts = items.map((s: any) => Date.parse(s.startedAt));
      expect(starts).toEqual([...starts].sort((a, b) => b - a));
    }
  });

  it('hides sessions of a private project from non-members', async () => {
    const owner = await caller(server, 'ses-vis-owner');
    const stranger = await caller(server, 'ses-vis-stranger');
    const project = await createProject(server, owner, 'hidden');
    await openParticipant(server.app.db, project.id, owner.user.id, 'daemon');
    const res = await stranger.api('GET', projectUrl(project.fullName, '/sessions'));
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('CS_ERR_PROJECT_NOT_FOUND');
  });

  it('ends every session left open at start-up', async () => {
    const owner = await caller(server, 'ses-crash-owner');
    const project = await createProject(server, owner, 'crashed');
    await openParticipant(server.app.db, project.id, owner.user.id, 'daemon');
    await openParticipant(server.app.db, project.id, owner.user.id, 'cli');
    expect(await closeSessionsOfGoneInstances(server.app.db)).toBeGreaterThanOrEqual(1);
    expect(await closeSessionsOfGoneInstances(server.app.db)).toBe(0);
    const res = await owner.api('GET', projectUrl(project.id, '/sessions'));
    const [session] = res.body.items;
    expect(session.endedAt).not.toBeNull();
    expect(session.participants.map((p: any) => p.leftAt !== null)).toEqual([true, true]);
  });

  it("ends only the participations of instances that are gone, and a session once nobody is left in it", async () => {
    const owner = await caller(server, 'ses-inst-owner');
    const project = await createProject(server, owner, 'instances');
    await openParticipant(server.app.db, project.id, owner.user.id, 'daemon', 'instance-alive');
    await openParticipant(server.app.db, project.id, owner.user.id, 'daemon', 'instance-killed');
    expect(await closeSessionsOfGoneInstances(server.app.db, new Set(['instance-alive']))).toBe(0);
    let [session] = (await owner.api('GET', projectUrl(project.id, '/sessions'))).body.items;
    expect(session.endedAt).toBeNull();
    expect(session.participants.map((p: any) => p.leftAt === null)).toEqual([true, false]);
    expect(await closeSessionsOfGoneInstances(server.app.db, new Set(['instance-other']))).toBe(1);
    [session] = (await owner.api('GET', projectUrl(project.id, '/sessions'))).body.items;
    expect(session.endedAt).not.toBeNull();
  });
});
