// Local changes carried out on the project: the file docs and the index, and the blobs a
// binary file's bytes are uploaded as. Each records the disk's bytes as the path's new base
// (what the disk held when it last agreed with the project) and says what it did.
import { randomBytes } from 'node:crypto';
import type * as Y from 'yjs';
import { contentText, filesMap, type IndexEntry } from '../common/index-entry.js';
import { writeFileAtomic } from '../common/atomic-write.js';
import { fileDocName } from '../common/protocol.js';
import { applyTextChange, lineStats } from '../common/text-diff.js';
import { classifyContent, sha256Hex } from './file-content.js';
import { modeToShare, storedBase, type FolderBases } from './folder-bases.js';
import type { FileDocs } from './file-docs.js';
import type { Base } from './base-store.js';
import type { PendingRemoval } from './removal-burst.js';
import { mergeText } from './text-merge.js';

/** Origin of changes this daemon made from the disk. */
export const LOCAL_ORIGIN = 'local';

export const newFileId = () => randomBytes(12).toString('base64url');

/** A file as read from disk. */
export interface DiskFile {
  bytes: Buffer;
  sha256: string;
  mode: number;
}

export type LocalAction = 'created' | 'edited' | 'renamed' | 'deleted';

export interface ProjectWritesDeps {
  root: string;
  index: Y.Doc;
  docs: FileDocs;
  bases: FolderBases;
  /** The path holds nothing of the project's any more (its base goes, what waited for it follows). */
  forgetBase: (path: string) => void;
  isSynced: (docName: string) => boolean;
  /** Ask the server for its state of the doc (the answer writes the path). */
  requestSync: (docName: string) => void;
  uploadBlob: (sha256: string, bytes: Uint8Array) => Promise<void>;
  activity: (action: LocalAction, path: string, extra?: { oldPath?: string; added?: number; removed?: number }) => void;
}

export class ProjectWrites {
  constructor(private readonly deps: ProjectWritesDeps) {}

  private get files(): Y.Map<IndexEntry> {
    return filesMap(this.deps.index);
  }

  /**
   * A text edit on disk, diffed against the base into the doc. The doc may hold remote edits
   * not yet written here: they are merged in (and the merge written back), so neither is lost.
   */
  async editText(path: string, entry: IndexEntry, base: Base | undefined, disk: DiskFile, text: string): Promise<void> {
    const doc = await this.deps.docs.ensure(entry.id);
    const ytext = contentText(doc);
    const inDoc = ytext.toString();
    if (base?.id !== entry.id && !this.deps.isSynced(fileDocName(entry.id)) && inDoc.length === 0 && entry.size > 0) {
      // The path now names another doc (replaced or split there) whose text has not arrived:
      // pushing the disk into it would duplicate that text. Its arrival writes the path,
      // folding this disk edit in against the base.
      this.deps.docs.writeWhenSynced(entry.id);
      this.deps.requestSync(fileDocName(entry.id));
      return;
    }
    const baseText = base?.kind === 'text' ? ((await this.deps.bases.text(path)) ?? inDoc) : inDoc;
    const merged = inDoc === baseText ? text : mergeText(baseText, text, inDoc);
    doc.transact(() => applyTextChange(ytext, inDoc, merged), LOCAL_ORIGIN);
    this.setMode(path, entry, modeToShare(disk.mode, base, entry));
    if (merged !== text) await writeFileAtomic(this.deps.root, path, Buffer.from(merged, 'utf8'), { mode: disk.mode });
    this.deps.bases.set(path, { id: entry.id, kind: 'text', mode: disk.mode, sha256: sha256Hex(Buffer.from(merged, 'utf8')), text: merged });
    this.deps.activity('edited', path, lineStats(baseText, text));
  }

  /**
   * New content at a path: a new file (`entry` null), or binary content or a change of kind for
   * a file the project has (a new id for a new kind).
   */
  async putContent(path: string, entry: IndexEntry | null, base: Base | undefined, disk: DiskFile, content: ReturnType<typeof classifyContent>): Promise<void> {
    const id = entry && entry.kind === content.kind ? entry.id : newFileId();
    const mode = entry ? modeToShare(disk.mode, base, entry) : disk.mode;
    const size = disk.bytes.byteLength;
    if (content.kind === 'text') {
      await this.deps.docs.create(id, content.text);
      this.deps.index.transact(() => this.files.set(path, { id, kind: 'text', mode, size }), LOCAL_ORIGIN);
      this.deps.bases.set(path, { id, kind: 'text', mode: disk.mode, sha256: disk.sha256, text: content.text });
    } else {
      await this.deps.uploadBlob(disk.sha256, disk.bytes);
      this.deps.index.transact(() => this.files.set(path, { id, kind: 'binary', mode, size, sha256: disk.sha256 }), LOCAL_ORIGIN);
      this.deps.bases.set(path, { id, kind: 'binary', mode: disk.mode, sha256: disk.sha256 });
    }
    if (entry) this.deps.activity('edited', path);
    else this.deps.activity('created', path, content.kind === 'text' ? lineStats('', content.text) : {});
  }

  /** A symlink (inside the folder) at `path`. */
  setSymlink(path: string, disk: { target: string; sha256: string }, entry: IndexEntry | null): void {
    if (entry?.kind === 'symlink' && entry.target === disk.target) return;
    const id = entry?.id ?? newFileId();
    const next: IndexEntry = { id, kind: 'symlink', mode: 0o777, size: disk.target.length, target: disk.target };
    this.deps.index.transact(() => this.files.set(path, next), LOCAL_ORIGIN);
    this.deps.bases.set(path, { id, kind: 'symlink', mode: 0o777, sha256: disk.sha256, target: disk.target });
    this.deps.activity(entry ? 'edited' : 'created', path);
  }

  /** A removed file reappeared, same bytes, at `path`: the project's file moves there. */
  rename(from: PendingRemoval, path: string, diskMode: number, text: string | undefined): void {
    this.deps.index.transact(() => {
      this.files.delete(from.path);
      this.files.set(path, { ...from.entry, mode: modeToShare(diskMode, from.base, from.entry) });
    }, LOCAL_ORIGIN);
    this.deps.forgetBase(from.path);
    this.deps.bases.set(path, { ...storedBase(from.base, text), mode: diskMode });
    this.deps.activity('renamed', path, { oldPath: from.path });
  }

  /** Only the mode changed on disk (or the disk's mode is to be shared with an edit). */
  setMode(path: string, entry: IndexEntry, mode: number): void {
    if (entry.mode !== mode) this.deps.index.transact(() => this.files.set(path, { ...entry, mode }), LOCAL_ORIGIN);
  }

  /** The file is gone here: gone from the project. */
  delete(path: string): void {
    this.deps.index.transact(() => this.files.delete(path), LOCAL_ORIGIN);
    this.deps.forgetBase(path);
    this.deps.activity('deleted', path);
  }
}
