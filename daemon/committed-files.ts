// What the folder's last commit holds at a path, asked of one long-running
// `git cat-file --batch`: a burst of a few thousand local changes asks a few thousand times, and
// a git process per question would cost seconds. The process starts at the first question and
// ends after a few idle seconds, so a quiet daemon holds no child process.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';

/** The batch process ends after this long without a question. */
const IDLE_MS = 5_000;

export interface CommittedFile {
  /** The blob's git object id: compare with gitBlobId of other bytes. */
  blobId: string;
  bytes: Buffer;
}

/** The id git gives a blob of these bytes (`git hash-object`), without asking git. */
export function gitBlobId(bytes: Uint8Array, algorithm: 'sha1' | 'sha256' = 'sha1'): string {
  return createHash(algorithm).update(`blob ${bytes.byteLength}\0`).update(bytes).digest('hex');
}

/** Whether `bytes` are what the commit holds (a repository may name objects by SHA-1 or SHA-256). */
export function holdsCommitted(committed: CommittedFile, bytes: Uint8Array): boolean {
  return gitBlobId(bytes, committed.blobId.length === 64 ? 'sha256' : 'sha1') === committed.blobId;
}

interface Question {
  resolve: (file: CommittedFile | null) => void;
  reject: (err: Error) => void;
}

export class CommittedFiles {
  private child: ChildProcessWithoutNullStreams | null = null;
  private readonly waiting: Question[] = [];
  private buffered: Buffer = Buffer.alloc(0);
  private idleTimer: NodeJS.Timeout | null = null;

  /** `root` is a git work tree's top folder. */
  constructor(private readonly root: string) {}

  /**
   * The file as a commit has it (`revision`: HEAD, or ORIG_HEAD, where a reset left the commit it
   * moved from), or null when that commit has no file there (or there is no such commit).
   */
  read(path: string, revision: 'HEAD' | 'ORIG_HEAD' = 'HEAD'): Promise<CommittedFile | null> {
    // The batch protocol is line-based: a name with a newline is asked of a process of its own.
    if (/[\n\r]/.test(path)) return Promise.resolve(this.readAlone(`${revision}:${path}`));
    const child = this.process();
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      child.stdin.write(`${revision}:${path}\n`);
    });
  }

  private readAlone(name: string): CommittedFile | null {
    const shown = spawnSync('git', ['cat-file', 'blob', name], { cwd: this.root, maxBuffer: 1 << 30 });
    if (shown.status !== 0) return null;
    const id = spawnSync('git', ['rev-parse', name], { cwd: this.root, encoding: 'utf8' });
    return { blobId: id.stdout.trim(), bytes: shown.stdout };
  }

  private process(): ChildProcessWithoutNullStreams {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.close(), IDLE_MS);
    this.idleTimer.unref();
    if (this.child) return this.child;
    const child = spawn('git', ['cat-file', '--batch'], { cwd: this.root, stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdout.on('data', (chunk: Buffer) => {
      this.buffered = this.buffered.byteLength === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
      this.answer();
    });
    child.stderr.resume();
    const fail = (err: Error) => {
      if (this.child === child) this.child = null;
      for (const question of this.waiting.splice(0)) question.reject(err);
    };
    child.on('error', fail);
    child.on('exit', (code) => fail(new Error(`git cat-file ended (${code ?? 'killed'})`)));
    child.stdin.on('error', () => undefined);
    this.child = child;
    this.buffered = Buffer.alloc(0);
    return child;
  }

  /** Answers the oldest questions whose answers have arrived in full. */
  private answer(): void {
    for (;;) {
      const newline = this.buffered.indexOf(10);
      if (newline === -1 || this.waiting.length === 0) return;
      const header = this.buffered.subarray(0, newline).toString('utf8');
      const found = /^([0-9a-f]{40,64}) (\w+) (\d+)$/.exec(header);
      if (!found) {
        // "<name> missing", or a name that is not a blob (a folder): HEAD has no file there.
        this.buffered = this.buffered.subarray(newline + 1);
        this.waiting.shift()!.resolve(null);
        continue;
      }
      const size = Number(found[3]);
      if (this.buffered.byteLength < newline + 1 + size + 1) return;
      const bytes = Buffer.from(this.buffered.subarray(newline + 1, newline + 1 + size));
      this.buffered = this.buffered.subarray(newline + 1 + size + 1);
      this.waiting.shift()!.resolve(found[2] === 'blob' ? { blobId: found[1]!, bytes } : null);
    }
  }

  close(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    const child = this.child;
    this.child = null;
    if (child) {
      child.stdin.end();
      child.kill();
    }
  }
}
