// Garbage on the multiplexed socket: every bad frame is refused (a `denied` and/or a 44xx
// close), none is applied, and the server keeps serving everyone else as before.
import { seededRandom } from '../bench/lib.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as encoding from 'lib0/encoding';
import { Awareness, applyAwarenessUpdate, encodeAwarenessUpdate } from 'y-protocols/awareness';
import * as Y from 'yjs';
import {
  CloseCode,
  encodeAwareness,
  encodeSyncStep1,
  encodeUnsubscribe,
  encodeUpdate,
} from '../common/protocol.js';
import { LiveTestClient } from './helpers/live-client.js';
import { apiClient, signIn, startTestServer, type TestServer } from './helpers/server.js';

const FRAMES = 1000;
const WORKERS = 8;
const FRAME_LIMIT = 64 * 1024;
/** A thousand connections, each signed in, checked and recorded as a session participant. */
// Generous: a loaded 2-core machine opens a thousand sockets slowly; the test asserts outcomes, not speed.
const FUZZ_TIMEOUT = 300_000;


interface Garbage {
  kind: string;
  /** A text frame when a string. */
  data: Uint8Array | string;
  /** Subscribe to the fuzzed docs first, so payload checks (not "subscribe first") refuse it. */
  subscribed: boolean;
}

const throws = (run: () => unknown) => {
  try {
    run();
    return false;
  } catch {
    return true;
  }
};

function frameOf(docName: string, type: number, payload: (encoder: encoding.Encoder) => void): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarString(encoder, docName);
  encoding.writeVarUint(encoder, type);
  payload(encoder);
  return encoding.toUint8Array(encoder);
}

/** Builds the garbage: random bytes, truncated and padded valid frames, bad payloads, names, types. */
function makeGarbage(seed: number, count: number): Garbage[] {
  const random = seededRandom(seed);
  const int = (n: number) => Math.floor(random() * n);
  const bytes = (max: number) => Uint8Array.from({ length: 1 + int(max) }, () => int(256));
  const pick = <T>(items: readonly T[]) => items[int(items.length)]!;

  // Valid frames to truncate or pad: a real edit, a subscribe, presence, an unsubscribe.
  const source = new Y.Doc();
  source.getText('content').insert(0, 'a valid edit that a fuzzer cut short');
  source.getMap('files').set('x.txt', { id: 'fz', kind: 'text', mode: 0o644, size: 1 });
  const presence = new Awareness(new Y.Doc());
  presence.setLocalState({ user: { name: 'fuzz' } });
  const validFrames = [
    encodeUpdate('file:fz', Y.encodeStateAsUpdate(source)),
    encodeUpdate('index', Y.encodeStateAsUpdate(source)),
    encodeSyncStep1('file:fz', source),
    encodeAwareness('index', encodeAwarenessUpdate(presence, [presence.clientID])),
    encodeUnsubscribe('file:fz'),
  ];
  presence.destroy();

  const badDocNames = ['', 'files', 'INDEX', 'index ', 'file:', 'file:a/b', 'file:../x', `file:${'x'.repeat(65)}`, 'file:é', 'doc:1', '\u0000'];
  const garbage: Garbage[] = [];
  while (garbage.length < count) {
    const category = int(9);
    switch (category) {
      case 0:
        garbage.push({ kind: 'random bytes', data: bytes(200), subscribed: false });
        break;
      case 1: {
        const frame = pick(validFrames);
        garbage.push({ kind: 'truncated frame', data: frame.slice(0, int(frame.length)), subscribed: int(2) === 0 });
        break;
      }
      case 2: {
        const frame = pick(validFrames);
        const padded = new Uint8Array(frame.length + 1 + int(8));
        padded.set(frame);
        padded.set(bytes(8).slice(0, padded.length - frame.length), frame.length);
        garbage.push({ kind: 'trailing bytes', data: padded, subscribed: true });
        break;
      }
      case 3: {
        // A valid envelope around an update or a state vector that does not decode.
        const subtype = int(3);
        const payload = bytes(120);
        const undecodable = subtype === 0 ? throws(() => Y.decodeStateVector(payload)) : throws(() => Y.decodeUpdate(payload));
        if (!undecodable) break;
        garbage.push({
          kind: `garbage sync payload ${subtype}`,
          data: frameOf(pick(['index', 'file:fz']), 0, (e) => {
            encoding.writeVarUint(e, subtype);
            encoding.writeVarUint8Array(e, payload);
          }),
          subscribed: true,
        });
        break;
      }
      case 4: {
        const payload = bytes(80);
        const probe = new Awareness(new Y.Doc());
        const undecodable = throws(() => applyAwarenessUpdate(probe, payload, null));
        probe.destroy();
        if (!undecodable) break;
        garbage.push({ kind: 'garbage awareness', data: frameOf('index', 1, (e) => encoding.writeVarUint8Array(e, payload)), subscribed: false });
        break;
      }
      case 5:
        garbage.push({ kind: 'text frame', data: Buffer.from(bytes(60)).toString('latin1'), subscribed: int(2) === 0 });
        break;
      case 6:
        garbage.push({
          kind: 'unknown doc name',
          data: frameOf(pick(badDocNames), 0, (e) => {
            encoding.writeVarUint(e, 2);
            encoding.writeVarUint8Array(e, Y.encodeStateAsUpdate(source));
          }),
          subscribed: false,
        });
        break;
      case 7: {
        // Types a client never sends (denied, persisted), unknown ones, unknown sync subtypes.
        const frame = pick([
          () => frameOf('file:fz', 2, (e) => encoding.writeVarString(e, 'I deny')),
          () => frameOf('file:fz', 3, (e) => encoding.writeVarUint8Array(e, Y.encodeStateVector(source))),
          () => frameOf('index', 5 + int(100_000), (e) => encoding.writeUint8Array(e, bytes(20))),
          () =>
            frameOf('file:fz', 0, (e) => {
              encoding.writeVarUint(e, 3 + int(1000));
              encoding.writeVarUint8Array(e, Y.encodeStateAsUpdate(source));
            }),
          () => frameOf('file:fz', 1, (e) => encoding.writeVarUint8Array(e, bytes(20))),
        ])();
        garbage.push({ kind: 'unknown message type', data: frame, subscribed: true });
        break;
      }
      case 8:
        // A well-formed edit to a doc this connection never subscribed to.
        garbage.push({ kind: 'update before subscribing', data: encodeUpdate(`file:other${int(5)}`, Y.encodeStateAsUpdate(source)), subscribed: true });
        break;
    }
  }
  source.destroy();
  return garbage;
}

describe('fuzzed frames on the live socket', () => {
  let server: TestServer;
  let alice: { token: string };
  let bob: { token: string; user: { id: string } };
  let projectId: string;
  let keeper: LiveTestClient;

  const storedRows = async () =>
    Number(
      (
        await server.app.db
          .selectFrom('doc_updates')
          .select((eb) => eb.fn.countAll().as('n'))
          .where('project_id', '=', projectId)
          .executeTakeFirstOrThrow()
      ).n,
    );

  beforeAll(async () => {
    // PostgreSQL: a thousand connections open and close a session row each, and pg serves
    // them concurrently where the embedded database takes one statement at a time.
    server = await startTestServer('postgres', (c) => {
      c.limits.frameBytes = FRAME_LIMIT;
    });
    alice = await signIn(server.url, 'alice');
    bob = await signIn(server.url, 'bob');
    const created = await apiClient(server.url, alice.token)('POST', '/api/projects', { name: 'fuzzed' });
    projectId = created.body.id;
    await server.app.db.insertInto('project_members').values({ project_id: projectId, user_id: bob.user.id, role: 'editor' }).execute();
    // Real content, held loaded for the whole run by a well-behaved client. It edits only once
    // subscribed, so its answer to the server's sync step 1 adds no second copy to the log.
    keeper = await LiveTestClient.connect(server.url, projectId, alice.token);
    keeper.subscribe('index');
    keeper.subscribe('file:fz');
    await keeper.until(() => keeper.persisted.has('index') && keeper.persisted.has('file:fz'));
    keeper.doc('index').getMap('files').set('notes.txt', { id: 'fz', kind: 'text', mode: 0o644, size: 13 });
    keeper.doc('file:fz').getText('content').insert(0, 'real content\n');
    await keeper.untilPersisted('index');
    await keeper.untilPersisted('file:fz');
  });
  afterAll(async () => {
    await keeper?.close();
    await server?.close();
  });

  it(`refuses ${FRAMES} random and truncated frames, applies none, and keeps syncing`, { timeout: FUZZ_TIMEOUT }, async () => {
    const garbage = makeGarbage(0xc0de5, FRAMES);
    const kinds = new Set(garbage.map((g) => g.kind.replace(/ \d+$/, '')));
    expect(kinds.size).toBe(9);
    const before = {
      index: Y.encodeStateAsUpdate(keeper.doc('index')),
      file: Y.encodeStateAsUpdate(keeper.doc('file:fz')),
      rows: await storedRows(),
    };

    const outcomes: { kind: string; denied: number; closeCode: number | null }[] = [];
    let next = 0;
    const worker = async () => {
      while (next < garbage.length) {
        const item = garbage[next++]!;
        const client = await LiveTestClient.connect(server.url, projectId, bob.token);
        try {
          if (item.subscribed) {
            client.subscribe('index');
            client.subscribe('file:fz');
          }
          if (typeof item.data === 'string') client.socket.send(item.data);
          else client.send(item.data);
          await client.until(() => client.closeCode !== null);
          outcomes.push({ kind: item.kind, denied: client.denied.length, closeCode: client.closeCode });
        } finally {
          await client.close();
        }
      }
    };
    await Promise.all(Array.from({ length: WORKERS }, worker));

    expect(outcomes).toHaveLength(FRAMES);
    const accepted = outcomes.filter((o) => o.closeCode === null || o.closeCode < 4400 || o.closeCode > 4499);
    expect(accepted, JSON.stringify(accepted.slice(0, 5))).toEqual([]);
    // Every one is answered with a `denied` before the close.
    expect(outcomes.filter((o) => o.denied === 0)).toEqual([]);

    // Nothing of it was applied or stored, and the keeper saw nothing.
    expect(Y.encodeStateAsUpdate(keeper.doc('index'))).toEqual(before.index);
    expect(Y.encodeStateAsUpdate(keeper.doc('file:fz'))).toEqual(before.file);
    expect(await storedRows()).toBe(before.rows);
    expect(keeper.closeCode).toBeNull();
    expect(server.app.live.hubs.states(projectId)).toEqual([]);

    // Two normal clients still sync, and see exactly the real content plus their edits.
    const a = await LiveTestClient.connect(server.url, projectId, alice.token);
    const b = await LiveTestClient.connect(server.url, projectId, bob.token);
    const aIndex = a.subscribe('index');
    const aText = a.subscribe('file:fz').getText('content');
    const bText = b.subscribe('file:fz').getText('content');
    await a.until(() => aText.toString() === 'real content\n' && aIndex.getMap('files').size === 1);
    await b.until(() => bText.toString() === 'real content\n');
    expect(Y.encodeStateAsUpdate(a.doc('file:fz'))).toEqual(before.file);
    aText.insert(aText.length, 'after the storm\n');
    await b.until(() => bText.toString() === 'real content\nafter the storm\n');
    bText.insert(0, '# ');
    await a.until(() => aText.toString() === '# real content\nafter the storm\n');
    await b.untilPersisted('file:fz');
    await Promise.all([a.close(), b.close()]);
  });

  it('applies nothing a client sends after a refused frame, text or binary', async () => {
    const watcher = await LiveTestClient.connect(server.url, projectId, alice.token);
    const watched = watcher.subscribe('file:after');
    await watcher.until(() => watcher.persisted.has('file:after'));
    const edit = new Y.Doc();
    edit.getText('content').insert(0, 'sent after a refused frame');
    for (const refused of ['a text frame', new Uint8Array([0xff, 0xff, 0xff])]) {
      const client = await LiveTestClient.connect(server.url, projectId, bob.token);
      client.subscribe('file:after');
      await client.until(() => client.persisted.has('file:after'));
      // Both leave the client at once, before the server could close anything.
      if (typeof refused === 'string') client.socket.send(refused);
      else client.send(refused);
      client.send(encodeUpdate('file:after', Y.encodeStateAsUpdate(edit)));
      await client.until(() => client.closeCode !== null);
      expect(client.closeCode).toBe(CloseCode.Malformed.code);
      expect(client.denied).toEqual([{ docName: '', reason: expect.any(String) }]);
      await client.close();
    }
    edit.destroy();
    // The watcher's own edit is acknowledged after anything relayed before it, and only it arrives.
    watched.getText('content').insert(0, 'watcher');
    await watcher.untilPersisted('file:after');
    expect(watched.getText('content').toString()).toBe('watcher');
    await watcher.close();
  });

  it('refuses an oversize frame with denied and close 4413', async () => {
    const client = await LiveTestClient.connect(server.url, projectId, bob.token);
    const doc = client.subscribe('file:big');
    await client.until(() => client.persisted.has('file:big'));
    const big = new Y.Doc();
    big.getText('content').insert(0, 'x'.repeat(FRAME_LIMIT + 1000));
    client.send(encodeUpdate('file:big', Y.encodeStateAsUpdate(big)));
    await client.until(() => client.closeCode !== null);
    expect(client.closeCode).toBe(CloseCode.FrameTooLarge.code);
    expect(client.denied).toEqual([{ docName: '', reason: expect.stringContaining('exceeds the limit') }]);
    big.destroy();
    await client.close();

    // Not applied: a newcomer finds the doc empty.
    const late = await LiveTestClient.connect(server.url, projectId, bob.token);
    const lateDoc = late.subscribe('file:big');
    await late.until(() => late.persisted.has('file:big'));
    expect(lateDoc.getText('content').length).toBe(0);
    expect(doc.getText('content').length).toBe(0);
    await late.close();
  });
});
