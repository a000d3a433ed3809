// glibc's functions that Node does not expose (malloc_trim, syncfs), called through koffi
// (prebuilt FFI, no compiler). Where koffi or glibc is missing (macOS, musl, an unusual
// architecture), `libcFunction` returns null and each caller does without.
import { createRequire } from 'node:module';
import type { LibraryHandle } from 'koffi';

/** A C function as koffi calls it: directly, or `.async(...args, callback)` on a worker thread. */
export type CFunction = ReturnType<LibraryHandle['func']>;

let libc: LibraryHandle | null | undefined;

/** The glibc function of that C prototype (`int syncfs(int fd)`), or null where there is none. */
export function libcFunction(prototype: string): CFunction | null {
  if (libc === undefined) {
    libc = null;
    if (process.platform === 'linux') {
      try {
        const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
        libc = koffi.load('libc.so.6');
      } catch {
        // Not glibc, or no prebuilt koffi for this system.
      }
    }
  }
  if (!libc) return null;
  try {
    return libc.func(prototype);
  } catch {
    return null;
  }
}
