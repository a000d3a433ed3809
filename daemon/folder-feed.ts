// How a folder follows its project's feed (DESIGN.md, Scale): updates of docs not in memory
// go to the store, feed positions are stored behind the updates they cover, acknowledged docs
// may leave memory, and remote changes wait for the end of a catch-up before they are written,
// so a doc whose snapshot comes after its later updates is never written half-arrived.
import { INDEX_DOC } from '../common/protocol.js';
import type { FileDocs } from './file-docs.js';
import type { LocalStore } from './local-store.js';
import type { ServerConnection } from './server-connection.js';

export class FolderFeed {
  /** Docs changed during a catch-up: written once it is over. */
  private readonly changedWhileCatchingUp = new Set<string>();

  constructor(
    private readonly connection: ServerConnection,
    private readonly store: LocalStore,
    private readonly docs: FileDocs,
    private readonly written: (id: string) => void,
  ) {
    connection.setFeedPosition(0);
    connection.on('foreign', (docName, update) => this.docs.foreignUpdate(docName, update));
    connection.on('resync', (docName) => {
      void store.stateVector(docName).then((stateVector) => connection.resyncFromStateVector(docName, stateVector));
    });
    connection.on('position', (position) => {
      store.storeFeedPosition(position);
      const changed = [...this.changedWhileCatchingUp];
      this.changedWhileCatchingUp.clear();
      for (const id of changed) this.written(id);
    });
    connection.on('persisted', (docName) => {
      if (docName === INDEX_DOC) store.markSaved(INDEX_DOC);
      else docs.saved(docName);
    });
  }

  /** Loads the position the folder stored; the connection catches up from there. */
  async load(): Promise<void> {
    this.connection.setFeedPosition(await this.store.loadFeedPosition());
  }

  /** The server changed a file doc: its paths are written, after the catch-up if one runs. */
  remoteChange(id: string): void {
    if (this.connection.caughtUp) this.written(id);
    else this.changedWhileCatchingUp.add(id);
  }
}

/** Resolves once the server acknowledged everything the folder holds (`total` docs, for progress). */
export async function untilSaved(connection: ServerConnection, total: number, progress?: (saved: number, total: number) => void, timeoutMs = 600_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (connection.unsavedCount > 0 || connection.state !== 'online') {
    if (connection.state === 'refused') throw new Error(connection.refusedReason ?? 'the server refused the folder');
    if (Date.now() > deadline) throw new Error('timed out waiting for the server to store the folder');
    progress?.(total - connection.unsavedCount, total);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  progress?.(total, total);
}

/** Milliseconds since creation at each named phase, for the log lines of share and join. */
export function phaseClock(): { phases: Record<string, number>; phase: (name: string) => void } {
  const started = performance.now();
  const phases: Record<string, number> = {};
  return { phases, phase: (name) => void (phases[name] = Math.round(performance.now() - started)) };
}
