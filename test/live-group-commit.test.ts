// Group commit across docs: updates of many docs that arrive together are appended in one
// statement, every sender is acknowledged only after it committed, a doc's rows keep their
// order, one doc's bad row does not fail its neighbours, and a restart loads them all.
import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs } from 'kysely';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { DocStore } from '../server/rooms/doc-store.js';
import { LiveTestClient } from './helpers/live-client.js';
import { startServerOn, useProjectServer } from './helpers/server-on-storage.js';
import { STORAGE_KINDS } from './helpers/storage.js';

/** Counts the statements that reach the database, by kind (a union's parts count once). */
class StatementCounter implements KyselyPlugin {
  private readonly kinds = new Map<unknown, string>();
  private readonly counts = new Map<string, number>();

  transformQuery(args: PluginTransformQueryArgs) {
    this.kinds.set(args.queryId.queryId, args.node.kind);
    return args.node;
  }

  async transformResult(args: PluginTransformResultArgs) {
    const kind = this.kinds.get(args.queryId.queryId) ?? 'unknown';
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
    return args.result;
  }

  count(kind: 'RawNode' | 'SelectQueryNode'): number {
    return this.counts.get(kind) ?? 0;
  }
}

const textOf = (name: string, lines: number) => Array.from({ length: lines }, (_, n) => `${name} line ${n}\n`).join('');

describe.each(STORAGE_KINDS)('group commit across docs [%s]', (kind) => {
  const live = useProjectServer(kind, 'grouped');

  it('appends many docs in one statement and loads them in one query, in order per doc', async () => {
    const counter = new StatementCounter();
    const store = new DocStore(live.server.app.db.withPlugin(counter));
    const docNames = Array.from({ length: 120 }, (_, i) => `file:direct${i}`);
    const updateOf = (docName: string, text: string) => {
      const doc = new Y.Doc();
      doc.getText('content').insert(0, text);
      return Y.encodeStateAsUpdate(doc);
    };

    const appended = await Promise.all(docNames.map((d) => store.append(live.projectId, d, [{ update: updateOf(d, textOf(d, 3)), userId: null }])));
    // One statement for the rows and the project's feed counter.
    expect(counter.count('RawNode')).toBe(1);
    expect(new Set(appended.map((a) => a.seq)).size).toBe(docNames.length);
    // The feed numbers of the batch are dense: 1..120, one a row.
    expect(appended.map((a) => a.fromProjectSeq).sort((x, y) => x - y)).toEqual(docNames.map((_, i) => i + 1));

    // Two appends of one doc in the same tick never share a statement, and keep their order.
    const first = store.append(live.projectId, 'file:direct0', [{ update: updateOf('x', 'first\n'), userId: null }]);
    const second = store.append(live.projectId, 'file:direct0', [{ update: updateOf('y', 'second\n'), userId: null }]);
    expect((await second).seq).toBeGreaterThan((await first).seq);
    expect((await second).fromProjectSeq).toBe((await first).toProjectSeq + 1);

    const before = counter.count('SelectQueryNode');
    const loaded = await Promise.all([...docNames, 'file:never-stored'].map((d) => store.load(live.projectId, d)));
    expect(counter.count('SelectQueryNode') - before).toBe(1);
    expect(loaded.at(-1)).toEqual({ update: null, logCount: 0, logBytes: 0, lastSeq: 0 });
    for (const [i, docName] of docNames.entries()) {
      const doc = new Y.Doc();
      Y.applyUpdate(doc, loaded[i]!.update!);
      if (i === 0) expect(doc.getText('content').length).toBe(textOf(docName, 3).length + 'first\nsecond\n'.length);
      else expect(doc.getText('content').toString()).toBe(textOf(docName, 3));
      expect(loaded[i]!.lastSeq).toBe(i === 0 ? (await second).seq : appended[i]!.seq);
    }

    // Compacted and logged rows load the same through the one query.
    await store.compact(live.projectId, 'file:direct1');
    const [compacted] = await Promise.all([store.load(live.projectId, 'file:direct1')]);
    expect(compacted.logCount).toBe(0);
    expect(compacted.update && Y.encodeStateVectorFromUpdate(compacted.update)).toEqual(Y.encodeStateVectorFromUpdate(loaded[1]!.update!));
  });

  it('fails only the doc whose row is refused when docs share a statement', async () => {
    const store = new DocStore(live.server.app.db);
    const update = (() => {
      const doc = new Y.Doc();
      doc.getText('content').insert(0, 'x');
      return Y.encodeStateAsUpdate(doc);
    })();
    const noSuchProject = '00000000-0000-4000-8000-000000000000';
    const results = await Promise.allSettled([
      store.append(live.projectId, 'file:good1', [{ update, userId: null }]),
      store.append(noSuchProject, 'file:bad', [{ update, userId: null }]),
      store.append(live.projectId, 'file:good2', [{ update, userId: null }]),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });

  it('acknowledges every sender of a burst over many docs, and a restarted server loads them all', async () => {
    const docNames = Array.from({ length: 300 }, (_, i) => `file:burst${i}`);
    const clients = await Promise.all([0, 1].map(() => LiveTestClient.connect(live.server.url, live.projectId, live.token)));
    for (const client of clients) for (const docName of docNames) client.subscribe(docName);
    await Promise.all(clients.map((client) => client.until(() => docNames.every((d) => client.persisted.has(d)), 20_000)));

    // Every doc changes in the same tick, from both clients.
    for (const [c, client] of clients.entries()) {
      for (const docName of docNames) client.doc(docName).getText('content').insert(0, textOf(`${docName}/${c}`, 20));
    }
    await Promise.all(clients.map((client) => client.until(() => docNames.every((d) => isCovered(client, d)), 20_000)));
    const expected = new Map(docNames.map((d) => [d, clients[0]!.doc(d).getText('content').toString()]));
    await Promise.all(clients.map((client) => client.close()));

    await live.server.close();
    live.server = await startServerOn(live.storage);
    const fresh = await LiveTestClient.connect(live.server.url, live.projectId, live.token);
    for (const docName of docNames) fresh.subscribe(docName);
    await fresh.until(() => docNames.every((d) => fresh.persisted.has(d) && fresh.doc(d).getText('content').toString() === expected.get(d)), 20_000);
    for (const docName of docNames) {
      expect(fresh.doc(docName).getText('content').toString()).toContain(`${docName}/0 line 19\n`);
      expect(fresh.doc(docName).getText('content').toString()).toContain(`${docName}/1 line 19\n`);
    }
    await fresh.close();
  });
});

/** Whether the server acknowledged everything this client wrote to the doc (untilPersisted's check). */
function isCovered(client: LiveTestClient, docName: string): boolean {
  const sv = client.persisted.get(docName);
  if (!sv) return false;
  const doc = client.doc(docName);
  const own = Y.decodeStateVector(Y.encodeStateVector(doc)).get(doc.clientID) ?? 0;
  return (Y.decodeStateVector(sv).get(doc.clientID) ?? 0) >= own;
}
