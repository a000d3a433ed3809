// A rescan of the whole folder, and the check against the server's hashes. The rescan compares
// every path on disk with its base and the index (decideRescanFinding): it catches what the
// watcher missed, edits made while the daemon was offline or stopped, and remote changes not
// yet written; each finding is queued as the side's usual work. The hash check finds text docs
// that differ from what the server holds and syncs those again (see server-drift.ts).
import { contentText, filesMap } from '../common/index-entry.js';
import type { ProjectFile } from '../common/project-file.js';
import { decideRescanFinding, projectAheadOfBase } from './decisions.js';
import { driftedDocs } from './server-drift.js';
import type { Base } from './base-store.js';
import { entryAt, indexEntries, type FolderParts } from './folder-parts.js';
import type { LocalChanges } from './local-changes.js';
import type { RemoteChanges } from './remote-changes.js';
import type { RescanOptions } from './rescans.js';

export type RescanParts = Pick<FolderParts, 'index' | 'docs' | 'bases' | 'problems' | 'enqueue'>;

export async function rescanFolder(parts: RescanParts, { local, remote }: { local: LocalChanges; remote: RemoteChanges }, options: RescanOptions): Promise<void> {
  const { bases, enqueue } = parts;
  const { serverFiles } = options;
  const entries = (await parts.problems.scan()).map((e) => ({ ...e, path: local.projectPath(e.path) }));
  const onDisk = new Set(entries.map((e) => e.path));
  const files = filesMap(parts.index);
  const work: Promise<void>[] = [];
  for (const scanned of entries) {
    const base = bases.get(scanned.path);
    const projectAhead = base !== undefined && projectAheadAt(parts, scanned.path, base);
    const checkEveryPath = options.checkEveryPath === true && !(serverFiles && base && serverHolds(serverFiles, scanned.path, base));
    const action = decideRescanFinding(scanned, base, files.has(scanned.path), { projectAhead, checkEveryPath });
    if (action === 'read-disk') work.push(enqueue(scanned.path, () => local.applyDiskChange(scanned.path)));
    else if (action === 'write-project') work.push(enqueue(scanned.path, () => remote.writePath(scanned.path)));
  }
  for (const [path] of bases) {
    if (!onDisk.has(path)) work.push(enqueue(path, () => local.applyDiskUnlink(path)));
  }
  for (const path of files.keys()) {
    if (!onDisk.has(path) && !bases.has(path)) work.push(enqueue(path, () => remote.writePath(path)));
  }
  await Promise.all(work);
  remote.splitSharedIds([...files.keys()]);
  parts.docs.forgetUnwrittenExcept(files.values());
}

/** The server holds the base's bytes at `path`, for the same file: the disk agrees with it. */
function serverHolds(serverFiles: Map<string, ProjectFile>, path: string, base: Base): boolean {
  const server = serverFiles.get(path);
  return server !== undefined && server.fileId === base.id && server.sha256 === base.sha256;
}

/** The disk holds `base` at `path`: does the project hold something else there? */
function projectAheadAt(parts: RescanParts, path: string, base: Base): boolean {
  const { docs } = parts;
  const entry = entryAt(parts.index, path);
  const doc = entry?.kind === 'text' ? docs.get(entry.id) : undefined;
  return projectAheadOfBase(base, entry, { docLength: doc ? contentText(doc).length : undefined, docChanged: entry ? docs.changedByServer.has(entry.id) : false });
}

/** Text docs that differ from the server's hash are synced again. */
export function resyncDrifted(parts: Pick<FolderParts, 'index' | 'docs' | 'connection' | 'log'>, onServer: Map<string, ProjectFile>): void {
  const { connection, log } = parts;
  const drifted = driftedDocs(indexEntries(parts.index, log), onServer, {
    settled: (docName) => connection.caughtUp && !connection.isUnsaved(docName),
    text: (id) => {
      const doc = parts.docs.get(id);
      return doc ? contentText(doc).toString() : undefined;
    },
  });
  for (const docName of drifted) connection.resync(docName);
  if (drifted.length > 0) log.warn({ resynced: drifted.length }, 'text differed from the server; synced those docs again');
  else log.debug({ files: onServer.size }, 'every text file matches the server');
}
