// The daemon's control API over its Unix socket: newline-delimited JSON. The CLI sends
// requests; the daemon answers each by id, and streams events to sockets that subscribed.
import type { FolderEvent, FolderStatus, JoinReport } from './folder-mirror.js';

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
