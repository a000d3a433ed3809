// How what one server instance applies reaches the others: updates, their feed numbers,
// presence, access changes. In-process (InProcessFanout: the single-server default, and how
// tests put several apps in one process) or through Redis Streams (cluster/redis-fanout.ts).
// Either way a receiver may miss a message: rooms and feeds recover from the update log.
import { EventEmitter } from 'node:events';
import type { DocUpdate } from '../../common/doc-updates.js';

export type FanoutMessage =
  /**
   * An update applied on one instance: before it is stored (in-process, for latency), or
   * `stored` already (what Redis Streams carry, and what is read back from the log).
   */
  | { kind: 'update'; instanceId: string; projectId: string; docName: string; update: Uint8Array; id: string; userId: string | null; stored?: boolean }
  /** The updates `ids` were stored as project_seq `range` (null: they never will be). */
  | { kind: 'committed'; instanceId: string; projectId: string; ids: string[]; range: { from: number; to: number } | null; updates: StoredUpdate[] }
  /** Presence of an instance's own clients in a project, identities stamped by that instance. */
  | { kind: 'awareness'; instanceId: string; projectId: string; update: Uint8Array }
  /** An instance needs the current presence of a project: the others answer with `awareness`. */
  | { kind: 'presence-query'; instanceId: string; projectId: string }
  /** Sockets carrying this access are closed everywhere (see LiveServer.dropAccess). */
  | { kind: 'access-changed'; instanceId: string; match: AccessMatch }
  /** An instance stopped or died: its clients' presence goes. */
  | { kind: 'instance-gone'; instanceId: string };

/** An update with who made it (null: the server itself, or not known). */
export interface StoredUpdate extends DocUpdate {
  userId: string | null;
}

export interface AccessMatch {
  projectId?: string;
  userId?: string;
  tokenId?: string;
}

export interface FanoutHealth {
  kind: 'in-process' | 'redis';
  ok: boolean;
  error?: string;
}

export interface Fanout {
  publish(message: FanoutMessage): void;
  subscribe(handler: (message: FanoutMessage) => void): () => void;
  /**
   * Start receiving the project's messages from other instances (counted: each follow needs
   * an unfollow). Resolves once nothing committed from then on can be missed, so a room loaded
   * or a feed read after it misses nothing between its read and the messages.
   */
  follow(projectId: string): Promise<void>;
  unfollow(projectId: string): void;
  health(): FanoutHealth;
  close(): Promise<void>;
}

export class InProcessFanout implements Fanout {
  private readonly bus = new EventEmitter().setMaxListeners(0);

  publish(message: FanoutMessage): void {
    this.bus.emit('message', message);
  }

  subscribe(handler: (message: FanoutMessage) => void): () => void {
    this.bus.on('message', handler);
    return () => this.bus.off('message', handler);
  }

  async follow(): Promise<void> {}

  unfollow(): void {}

  health(): FanoutHealth {
    return { kind: 'in-process', ok: true };
  }

  async close(): Promise<void> {}
}
