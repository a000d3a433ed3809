// Hands the C heap's free pages back to the system (glibc's malloc_trim), after a collection.
// glibc keeps what was freed below the top of its heap for reuse: after a 40,000-file join the
// daemon held 113 MiB of freed malloc memory (LevelDB's, the transfers' buffers) that no
// setting of MALLOC_TRIM_THRESHOLD_ returns, and malloc_trim(0) gave back all but 14 MiB of it.
// Called through koffi (prebuilt FFI, no compiler): where it or glibc is missing (macOS, musl),
// this does nothing, as those allocators return freed memory on their own.
import { createRequire } from 'node:module';

type Trim = (pad: number) => number;

let trim: Trim | null | undefined;

function trimmer(): Trim | null {
  if (trim !== undefined) return trim;
  trim = null;
  if (process.platform !== 'linux') return trim;
  try {
    const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
    trim = koffi.load('libc.so.6').func('int malloc_trim(size_t pad)') as Trim;
  } catch {
    // Not glibc, or no prebuilt koffi for this system.
  }
  return trim;
}

/** Returns the C heap's free pages to the system; whether it could be asked. */
export function trimNativeHeap(): boolean {
  const malloc_trim = trimmer();
  if (!malloc_trim) return false;
  malloc_trim(0);
  return true;
}
