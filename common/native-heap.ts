// Hands the C heap's free pages back to the system (glibc's malloc_trim), after a collection.
// glibc keeps what was freed below the top of its heap for reuse: after a 40,000-file join the
// daemon held 113 MiB of freed malloc memory (LevelDB's, the transfers' buffers) that no
// setting of MALLOC_TRIM_THRESHOLD_ returns, and malloc_trim(0) gave back all but 14 MiB of it.
// Where glibc is missing (macOS, musl), this does nothing, as those allocators return freed
// memory on their own.
import { libcFunction, type CFunction } from './libc.js';

let trim: CFunction | null | undefined;

/** Returns the C heap's free pages to the system; whether it could be asked. */
export function trimNativeHeap(): boolean {
  trim ??= libcFunction('int malloc_trim(size_t pad)');
  if (!trim) return false;
  trim(0);
  return true;
}
