// Which text docs differ from what the server stored: the server's hash of each text file
// against the text this folder holds in sync with it. A difference means an update went missing
// on one side; syncing the doc again exchanges whatever either side lacks (and changes nothing
// when both already agree). Docs not synced yet, with updates the server has not stored, or
// named by another file id on the server are in flight, not drifted.
import type { IndexEntry } from '../common/index-entry.js';
import type { ProjectFile } from '../common/project-file.js';
import { fileDocName } from '../common/protocol.js';
import { sha256Hex } from './file-content.js';

export interface DocsInSync {
  /** The doc has synced with the server and holds no update the server has not stored. */
  settled: (docName: string) => boolean;
  /** The text the folder holds for a file id, if its doc is loaded. */
  text: (id: string) => string | undefined;
}

/** The doc names to sync again. */
export function driftedDocs(entries: Map<string, IndexEntry>, onServer: Map<string, ProjectFile>, local: DocsInSync): string[] {
  const drifted: string[] = [];
  for (const [path, entry] of entries) {
    const server = onServer.get(path);
    const docName = fileDocName(entry.id);
    if (entry.kind !== 'text' || !server?.sha256 || server.fileId !== entry.id || !local.settled(docName)) continue;
    const text = local.text(entry.id);
    if (text !== undefined && sha256Hex(Buffer.from(text, 'utf8')) !== server.sha256) drifted.push(docName);
  }
  return drifted;
}
