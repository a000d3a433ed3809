// The first sync of a folder. Share: every file of the folder becomes the project's (a doc for
// a text, an uploaded blob for a binary, an entry for a symlink). Join: every project file is
// written into the folder, a local file that differs is backed up first (or, with --keep-local,
// becomes an edit of the project's file), and the files only this folder has are shared, so
// both sides end identical and nothing is lost.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pMap from 'p-map';
import { MAX_TEXT_BYTES, filesMap, projectMap, sharedMode, type IndexEntry } from '../common/index-entry.js';
import { byPath } from '../common/paths-in-project.js';
import { writeFileAtomic } from '../common/atomic-write.js';
import type { CheckedFolders } from '../common/safe-path.js';
import type { JoinReport } from '../common/control-protocol.js';
import { classifyContent, sha256Hex } from './file-content.js';
import { baseFor } from './folder-bases.js';
import { fileDocName } from '../common/protocol.js';
import type { BackupFolder } from './backup-folder.js';
import { DocUpload } from './doc-upload.js';
import { WriteBatch, type BulkWrite } from './disk-writes.js';
import type { ScannedEntry } from './scan.js';
import { LOCAL_ORIGIN, newFileId } from './project-writes.js';
import { indexEntries, type FolderParts } from './folder-parts.js';
import type { LocalChanges } from './local-changes.js';
import type { RemoteChanges } from './remote-changes.js';

/** Files written or read at once by share and join: overlaps the file system's and the network's waits. */
export const FILE_CONCURRENCY = 16;
/**
 * Files a join writes between two flushes of their durability (see WriteBatch): one sync of
 * the file system per batch instead of two fsyncs per file.
 */
const JOIN_BATCH_FILES = 1_000;
/** Progress is reported every this many files. */
const PROGRESS_EVERY = 100;

export type FolderStartParts = Pick<FolderParts, 'root' | 'log' | 'index' | 'docs' | 'bases' | 'diskReader' | 'disk' | 'problems' | 'collisions' | 'connection' | 'event'>;

export interface ShareDeps {
  uploadBlob: (sha256: string, bytes: Uint8Array) => Promise<void>;
  /** Stores a body of docs' updates (see doc-upload.ts), many per request; the feed position then. */
  storeUpdates: (body: Uint8Array) => Promise<number>;
  branch: string | null;
}

/** Makes every file of the folder the project's: how many files, and the feed position after their upload. */
export async function shareFolder(parts: FolderStartParts, deps: ShareDeps): Promise<{ files: number; position: number }> {
  const upload = new DocUpload(deps.storeUpdates, (docNames) => docNames.forEach((docName) => parts.docs.saved(docName)), parts.log);
  const entries = await parts.problems.scan();
  const newEntries: [string, IndexEntry][] = [];
  let done = 0;
  await pMap(
    entries,
    async (scanned) => {
      newEntries.push([scanned.path, await shareEntry(parts, scanned, deps.uploadBlob, upload)]);
      if (++done % PROGRESS_EVERY === 0) parts.event({ type: 'progress', root: parts.root, phase: 'upload', done, total: entries.length });
    },
    { concurrency: FILE_CONCURRENCY },
  );
  // Every doc stored by the server before the index names it: a teammate never sees a file
  // whose content has not arrived yet.
  await upload.finish();
  parts.log.info({ docs: upload.docsAdded, bodies: upload.bodiesSent, failed: upload.failedDocs }, 'uploaded the docs of the shared files');
  parts.index.transact(() => {
    const files = filesMap(parts.index);
    for (const [path, entry] of newEntries) files.set(path, entry);
    if (deps.branch) projectMap(parts.index).set('branch', deps.branch);
  }, LOCAL_ORIGIN);
  return { files: entries.length, position: upload.position };
}

/** One scanned path made the project's: its index entry (its base recorded). */
async function shareEntry(
  parts: FolderStartParts,
  scanned: ScannedEntry,
  uploadBlob: ShareDeps['uploadBlob'],
  upload: DocUpload,
): Promise<IndexEntry> {
  const id = newFileId();
  const { bases, docs } = parts;
  if (scanned.kind === 'symlink') {
    bases.set(scanned.path, { id, kind: 'symlink', mode: 0o777, sha256: scanned.sha256, target: scanned.target! });
    return { id, kind: 'symlink', mode: 0o777, size: scanned.size, target: scanned.target! };
  }
  const mode = sharedMode(scanned.mode);
  const bytes = await readFile(join(parts.root, scanned.path));
  const content = classifyContent(bytes, MAX_TEXT_BYTES);
  const sha256 = sha256Hex(bytes);
  if (content.kind === 'text') {
    await upload.add({ docName: fileDocName(id), update: await docs.createForUpload(id, content.text) });
    bases.set(scanned.path, { id, kind: 'text', mode, sha256, text: content.text });
    return { id, kind: 'text', mode, size: bytes.byteLength };
  }
  await uploadBlob(sha256, bytes);
  bases.set(scanned.path, { id, kind: 'binary', mode, sha256 });
  return { id, kind: 'binary', mode, size: bytes.byteLength, sha256 };
}

export interface JoinDeps {
  local: LocalChanges;
  remote: RemoteChanges;
  backups: BackupFolder;
  branch: string | null;
  keepLocal: boolean;
}

/** Writes the project (its index synced) into the folder; what it did, for the user. */
export async function joinFolder(parts: FolderStartParts, deps: JoinDeps): Promise<JoinReport> {
  const report: JoinReport = { kept: 0, written: 0, replaced: [], pushed: 0 };
  // The feed's catch-up brought every doc into the store; each is loaded as its path is written.
  const entries = [...indexEntries(parts.index, parts.log)];
  let done = 0;
  const checked: CheckedFolders = { folders: new Set() };
  for (let first = 0; first < entries.length; first += JOIN_BATCH_FILES) {
    const batch = new WriteBatch();
    await pMap(
      entries.slice(first, first + JOIN_BATCH_FILES),
      async ([path, entry]) => {
        if (++done % PROGRESS_EVERY === 0) parts.event({ type: 'progress', root: parts.root, phase: 'download', done, total: entries.length });
        if (deps.remote.refusePath(path) || parts.collisions.has(path)) return;
        await joinEntry(parts, deps, path, entry, report, { checked, batch });
      },
      { concurrency: FILE_CONCURRENCY },
    );
    await batch.commit(parts.bases);
    // Durable and their bases recorded: the batch's docs are written (a crash before this
    // leaves them marked, and the folder's resume writes them).
    for (const [, entry] of entries.slice(first, first + JOIN_BATCH_FILES)) if (entry.kind === 'text') parts.docs.writtenToDisk(entry.id);
  }
  report.replaced.sort(byPath);
  // Files only this folder has are shared, so both sides end identical and nothing is lost.
  // Listed, not scanned: the project's files were just written or checked, and reading every
  // one of them again cost a 10,000-file join a second.
  const files = filesMap(parts.index);
  for (const path of await parts.problems.listPaths()) {
    if (files.has(path)) continue;
    await deps.local.applyDiskChange(path);
    report.pushed++;
  }
  if (!projectMap(parts.index).get('branch') && deps.branch) {
    parts.index.transact(() => projectMap(parts.index).set('branch', deps.branch), LOCAL_ORIGIN);
  }
  return report;
}

/** One project path written into the folder: kept when equal, else backed up (or pushed) and written. */
async function joinEntry(parts: FolderStartParts, deps: JoinDeps, path: string, entry: IndexEntry, report: JoinReport, bulk: BulkWrite): Promise<void> {
  // Written from the doc as it is now; a teammate's change after this marks it again.
  if (entry.kind === 'text') parts.docs.changedByServer.delete(entry.id);
  const wanted = await parts.disk.projectBytes(entry);
  const disk = await parts.diskReader.read(path);
  if (disk && disk.kind !== 'dir' && disk.sha256 === wanted.sha256) {
    parts.bases.set(path, baseFor(entry, wanted));
    if (disk.kind === 'file' && disk.mode !== entry.mode) await writeFileAtomic(parts.root, path, disk.bytes, { mode: entry.mode });
    report.kept++;
    return;
  }
  if (disk && disk.kind === 'file') {
    if (deps.keepLocal && entry.kind === 'text') {
      // The local version wins: it becomes an edit of the project's file.
      parts.bases.set(path, baseFor(entry, wanted));
      await deps.local.applyDiskChange(path);
      report.pushed++;
      return;
    }
    report.replaced.push({ path, backup: await deps.backups.save(path, disk.bytes, disk.mode) });
  }
  await parts.disk.writeEntry(path, entry, wanted, bulk);
  report.written++;
}
