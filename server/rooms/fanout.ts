// How a room's updates reach the same doc's room on other server instances. In-process
// today (several app instances in one process share one bus, which is how the tests model
// two servers); a Redis or Postgres NOTIFY implementation fits the same interface. Messages
// may be missed between instances: rooms recover by reading the log from their last seq.
import { EventEmitter } from 'node:events';

/**
 * An update applied on one instance (relayed before it is stored, for latency), then the
 * notice that it was stored with which project feed numbers (see project-feed.ts).
 */
export type FanoutMessage =
  | { kind: 'update'; instanceId: string; projectId: string; docName: string; update: Uint8Array; id: string }
  | { kind: 'committed'; instanceId: string; projectId: string; ids: string[]; range: { from: number; to: number } | null };

export interface Fanout {
  publish(message: FanoutMessage): void;
  subscribe(handler: (message: FanoutMessage) => void): () => void;
}

export class InProcessFanout implements Fanout {
  private readonly bus = new EventEmitter().setMaxListeners(0);

  publish(message: FanoutMessage): void {
    this.bus.emit('update', message);
  }

  subscribe(handler: (message: FanoutMessage) => void): () => void {
    this.bus.on('update', handler);
    return () => this.bus.off('update', handler);
  }
}
