// Whose text a doc holds. Every Yjs item carries the id of the client that wrote it; this folder
// gives all its docs one client id per run (and its presence the same one), and learns the names
// behind teammates' ids from their presence, so a change that would remove text can say whose
// work goes with it. The names are kept in the folder's store: a teammate who went offline is
// still named. (DESIGN.md's History: the server will record each id's owner itself; until then
// a client id never seen in presence reads as "a teammate", which errs on the safe side.)
import { randomBytes } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import * as Y from 'yjs';
import { contentText } from '../common/index-entry.js';
import { diffLines } from 'diff';

const FILE = 'authors.json';

/** A Yjs client id for one run of one folder: a random 32-bit number, as Yjs draws its own. */
export const newClientId = (): number => randomBytes(4).readUInt32LE() || 1;
export const UNKNOWN_AUTHOR = 'a teammate';
/** A line diff that takes longer gives up, and every teammate with text in the file counts. */
const LINE_DIFF_MS = 100;

export class Authors {
  private readonly names = new Map<number, string>();
  private saving: Promise<void> = Promise.resolve();
  private dirty = false;

  private constructor(
    private readonly dir: string,
    readonly ownName: string,
  ) {}

  /**
   * The names this folder learned before, plus this run's own id (`clientId`: new each run, see
   * newClientId, so two runs never write as one client).
   */
  static async load(dir: string, ownName: string, clientId: number): Promise<Authors> {
    const authors = new Authors(dir, ownName);
    const stored = await readFile(`${dir}/${FILE}`, 'utf8').then(JSON.parse, () => ({})) as Record<string, unknown>;
    for (const [client, name] of Object.entries(stored ?? {})) {
      if (/^\d+$/.test(client) && typeof name === 'string') authors.names.set(Number(client), name);
    }
    authors.learn(clientId, ownName);
    return authors;
  }

  /** A presence state said this client id is this user. */
  learn(clientId: number, name: string): void {
    if (this.names.get(clientId) === name) return;
    this.names.set(clientId, name);
    this.dirty = true;
    this.saving = this.saving.then(() => this.save());
  }

  private async save(): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    const temp = `${this.dir}/${FILE}.${process.pid}.tmp`;
    await writeFile(temp, JSON.stringify(Object.fromEntries(this.names)));
    await rename(temp, `${this.dir}/${FILE}`);
  }

  /** Resolves once every name learned so far is stored. */
  settled(): Promise<void> {
    return this.saving.catch(() => undefined);
  }

  /** A teammate's name for a client id; null for this user's own ids (this run's and earlier ones). */
  teammate(clientId: number): string | null {
    const name = this.names.get(clientId);
    if (name === this.ownName) return null;
    return name ?? UNKNOWN_AUTHOR;
  }

  /** Whether anyone but this user ever wrote into the doc: when not, no text of theirs can be lost. */
  teammatesWrote(doc: Y.Doc): boolean {
    for (const clientId of doc.store.clients.keys()) if (this.teammate(clientId) !== null) return true;
    return false;
  }

  /**
   * Teammates whose text in the doc is not in `committedText`: what turning the doc's text into
   * the committed one (a revert, or '' for a file the commit lacks) would remove. By line: a line
   * of the doc that the commit lacks is the work of whoever wrote most of its characters. (By
   * character, an edit over a teammate's line keeps stray letters of theirs, "s" or "e", and a
   * revert of one's own edit would seem to discard those.)
   */
  uncommittedTeammates(doc: Y.Doc, committedText: string): string[] {
    const text = contentText(doc);
    const current = text.toString();
    if (current === committedText) return [];
    const changes = diffLines(current, committedText, { timeout: LINE_DIFF_MS });
    const writers = lineWriters(text, current);
    const whose = new Set<string>();
    const note = (clientId: number | null) => {
      const name = clientId === null ? null : this.teammate(clientId);
      if (name !== null) whose.add(name);
    };
    if (!changes) {
      // Too different to compare in time: every teammate with text here may lose some.
      for (const clientId of writers) note(clientId);
    } else {
      let line = 0;
      for (const change of changes) {
        if (change.added) continue;
        if (change.removed) for (let i = line; i < line + change.count; i++) note(writers[i] ?? null);
        line += change.count;
      }
    }
    return [...whose].sort();
  }

  /** The teammate who last set this key of a Y.Map (an index entry), or null when it was this user. */
  keyAuthor(map: Y.Map<unknown>, key: string): string | null {
    const item = map._map.get(key);
    return item ? this.teammate(item.id.client) : null;
  }
}

/**
 * The client that wrote most of each line of `text` (whose content is `content`), by line
 * number; null for an empty line. Walks the text's items once: each visible item is a run of
 * characters by one client.
 */
function lineWriters(text: Y.Text, content: string): (number | null)[] {
  const writers: (number | null)[] = [];
  const counts = new Map<number, number>();
  const endLine = () => {
    let best: number | null = null;
    let most = 0;
    for (const [clientId, count] of counts) if (count > most) [best, most] = [clientId, count];
    writers.push(best);
    counts.clear();
  };
  let offset = 0;
  for (let item = text._start; item !== null; item = item.right) {
    if (item.deleted || !item.countable) continue;
    const clientId = item.id.client;
    let start = offset;
    const end = offset + item.length;
    for (let newline = content.indexOf('\n', start); newline !== -1 && newline < end; newline = content.indexOf('\n', start)) {
      counts.set(clientId, (counts.get(clientId) ?? 0) + newline + 1 - start);
      endLine();
      start = newline + 1;
    }
    if (end > start) counts.set(clientId, (counts.get(clientId) ?? 0) + end - start);
    offset = end;
  }
  if (counts.size > 0) endLine();
  return writers;
}
