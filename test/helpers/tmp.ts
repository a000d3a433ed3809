// Where tests keep databases. Copying a PGlite data folder (about 1,000 files, 39 MB) takes a
// second of system time on this disk and 0.1 s on tmpfs, and every in-process server copies
// one; /dev/shm is tmpfs on Linux. Elsewhere, the usual temp folder.
import { accessSync, constants, statSync } from 'node:fs';
import { tmpdir } from 'node:os';

function pickDatabaseTmpDir(): string {
  try {
    if (statSync('/dev/shm').isDirectory()) {
      accessSync('/dev/shm', constants.W_OK);
      return '/dev/shm';
    }
  } catch {
    // not Linux, or not writable: fall through
  }
  return tmpdir();
}

export const DATABASE_TMP_DIR = pickDatabaseTmpDir();
