// The daemon's control API over its Unix socket: newline-delimited JSON. The CLI sends
// requests; the daemon answers each by id, and streams events to sockets that subscribed.

/** The daemon's link to the server. */
export type ConnectionState = 'connecting' | 'online' | 'offline' | 'refused';

/** A path of the folder the daemon does not share or write, and why. */
export interface FolderProblem {
  path: string;
  reason: FolderProblemReason;
  /** What a user reads: "readme.md not written here: it collides with README.md on this file system". */
  message: string;
}

export type FolderProblemReason =
  | 'invalid-name'
  | 'unsafe-path'
  | 'unsafe-symlink'
  | 'special-file'
  | 'unreadable'
  | 'too-large'
  | 'name-collision';

export type SyncState = 'starting' | 'synced' | 'unsaved' | 'offline' | 'paused' | 'refused';

export interface FolderStatus {
  root: string;
  projectId: string;
  projectName: string;
  serverUrl: string;
  state: SyncState;
  unsaved: number;
  connection: ConnectionState;
  pausedReason: string | null;
  branch: string | null;
  trackedBranch: string | null;
  files: number;
  peers: PeerInfo[];
  /** Paths here that are not shared, and why (Mutagen's "problems"). */
  problems: FolderProblem[];
  /** Local changes held before sending because they would discard teammates' work (see discard-guard.ts). */
  halt: FolderHalt | null;
  /** When a burst of removals halts the folder (the rule that protects teammates is always on). */
  guard: GuardSettings;
  /** How the folder is watched; `problem`: why it is not watched whole (then only rescans keep it in step). */
  watcher: { backend: 'native' | 'chokidar' | null; problem: string | null };
  /** Docs held in memory now (the index and recently used files) and docs in the local store (null: not counted yet). */
  docs: { inMemory: number; stored: number | null };
}

/** A halt of the folder's sending: what it looks like, how many files it holds, whose work. */
export interface FolderHalt {
  /** `discards`: teammates' uncommitted work would go; `removal`: a large part of the project would. */
  rule: 'discards' | 'removal';
  looksLike: string;
  files: number;
  whose: string[];
  /** ISO time the halt began. */
  since: string;
}

/** The size rule: a burst removing more than this share, or more files than this, halts; null turns either off. */
export interface GuardSettings {
  maxRemovedShare: number | null;
  maxRemovedFiles: number | null;
}

/** What `codeshare resume` did with the held changes. */
export interface ResumeReport {
  root: string;
  /** Held changes sent to the project as they are. */
  sent: number;
  /** Paths given the project's version back. */
  restored: number;
  /** Where the versions either choice replaced were saved; null when nothing needed saving. */
  backup: string | null;
}

export interface PeerInfo {
  name: string;
  color?: string;
  file?: string | null;
  branch?: string | null;
  lastActive?: number;
}

export type FolderEvent =
  | { type: 'activity'; root: string; direction: 'local' | 'remote'; action: 'created' | 'edited' | 'renamed' | 'deleted'; path: string; oldPath?: string; linesAdded?: number; linesRemoved?: number; user?: string }
  | { type: 'progress'; root: string; phase: 'upload' | 'download'; done: number; total: number }
  | { type: 'status'; root: string; status: FolderStatus }
  | { type: 'error'; root: string; message: string };

export interface JoinReport {
  kept: number;
  written: number;
  replaced: { path: string; backup: string }[];
  pushed: number;
}

export interface Credentials {
  serverUrl: string;
  token: string;
  username: string;
}

export interface ControlMethods {
  ping: { params: Record<string, never>; result: { pid: number; startedAt: string; version: string; memory: DaemonMemory } };
  status: { params: Record<string, never>; result: { pid: number; startedAt: string; logFile: string; folders: FolderStatus[] } };
  share: {
    params: Credentials & { root: string; name: string; visibility: 'private' | 'public' };
    result: { projectId: string; fullName: string; files: number };
  };
  join: {
    params: Credentials & { root: string; project: string; keepLocal: boolean };
    result: { projectId: string; fullName: string; files: number; report: JoinReport };
  };
  leave: { params: { root: string }; result: { root: string; left: boolean } };
  resume: { params: { root: string; restore: boolean }; result: ResumeReport };
  guard: { params: { root: string; settings?: GuardSettings | null }; result: { root: string; guard: GuardSettings } };
  subscribe: { params: { root?: string }; result: { subscribed: true } };
  stop: { params: Record<string, never>; result: { stopping: true } };
}

export type ControlMethod = keyof ControlMethods;

export interface ControlRequest<M extends ControlMethod = ControlMethod> {
  id: number;
  method: M;
  params: ControlMethods[M]['params'];
}

export type ControlMessage =
  | { id: number; result: unknown }
  | { id: number; error: { message: string } }
  | { event: FolderEvent };

export const SOCKET_NAME = 'daemon.sock';
export const LOG_NAME = 'daemon.log';
export const FOLDERS_FILE = 'folders.json';

/** The daemon's memory, in bytes, as process.memoryUsage() reports it. */
export interface DaemonMemory {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  /** Memory of C++ objects bound to JavaScript ones, Buffers included. */
  external: number;
  arrayBuffers: number;
}
