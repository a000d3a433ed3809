// Durability for a bulk write: a join's thousands of files. writeFileAtomic alone makes each
// write durable by itself, with an fsync of the file and one of its folder: two of the dozen
// disk calls a file costs, and a sixth of a 40,000-file join's time on the main thread. A bulk
// write notes its files here instead and makes them durable together: one syncfs(2) per file
// system on Linux (the kernel writes out everything dirty there, these files included), each
// file and folder fsynced elsewhere. Whatever records such a write as done (a base) is recorded
// only after `flush`, so a crash never leaves a record of bytes the disk does not hold.
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname } from 'node:path';
import pMap from 'p-map';
import { libcFunction, type CFunction } from './libc.js';

/** Files and folders fsynced at once where there is no syncfs. */
const FSYNC_CONCURRENCY = 16;

let syncfs: CFunction | null | undefined;

/** syncfs(2) of the file system holding `folder`, on a worker thread; false where it is missing or failed. */
async function syncFileSystemOf(folder: string): Promise<boolean> {
  syncfs ??= libcFunction('int syncfs(int fd)');
  if (!syncfs) return false;
  const handle = await open(folder, constants.O_RDONLY);
  try {
    const call = syncfs;
    const result = await new Promise<number>((resolve, reject) => call.async(handle.fd, (err: unknown, value: number) => (err ? reject(err) : resolve(value))));
    return result === 0;
  } finally {
    await handle.close();
  }
}

async function fsyncPath(path: string, { folder }: { folder: boolean }): Promise<void> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY);
    await handle.sync();
  } catch (err) {
    // Some file systems refuse fsync on a folder: the files are synced, only the order of
    // the renames is left to the file system (as in writeFileAtomic).
    if (!folder) throw err;
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

export class SyncLater {
  /** Every file noted since the last flush. */
  private readonly files = new Set<string>();
  /** A folder on each device those files are on (st_dev). */
  private readonly folderOnDevice = new Map<number, string>();

  /** `wholeFileSystem: false`: fsync each file and folder even where syncfs is there. */
  constructor(private readonly options: { wholeFileSystem?: boolean } = {}) {}

  /** A file written (renamed into place) at `absPath`, on the device `device`, not yet durable. */
  note(absPath: string, device: number): void {
    this.files.add(absPath);
    if (!this.folderOnDevice.has(device)) this.folderOnDevice.set(device, dirname(absPath));
  }

  get size(): number {
    return this.files.size;
  }

  /** Makes every file noted so far durable, with the renames that put them in place. */
  async flush(): Promise<void> {
    const files = [...this.files];
    const folders = [...this.folderOnDevice.values()];
    this.files.clear();
    this.folderOnDevice.clear();
    if (files.length === 0) return;
    // A folder removed since (or a syncfs that failed) leaves it to the fsyncs below.
    if (this.options.wholeFileSystem !== false) {
      const synced = await Promise.all(folders.map((folder) => syncFileSystemOf(folder).catch(() => false)));
      if (synced.every(Boolean)) return;
    }
    await pMap(files, (file) => fsyncPath(file, { folder: false }), { concurrency: FSYNC_CONCURRENCY });
    await pMap(new Set(files.map(dirname)), (folder) => fsyncPath(folder, { folder: true }), { concurrency: FSYNC_CONCURRENCY });
  }
}
