// How a room's updates reach the same doc's room on other server instances. In-process
// today (several app instances in one process share one bus, which is how the tests model
// two servers); a Redis or Postgres NOTIFY implementation fits the same interface. Messages
// may be missed between instances: rooms recover by reading the log from their last seq.
import { EventEmitter } from 'node:events';

export interface FanoutMessage {
  instanceId: string;
  projectId: string;
  docName: string;
  update: Uint8Array;
}

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
