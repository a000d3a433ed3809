// GET /metrics in the Prometheus text format (prom-client): what an operator watches on a team
// server. The relay (updates applied and relayed), the log (rows committed, rows per append
// transaction, its latency), what is loaded (rooms, sockets), and Node.js's own figures, among
// them the event loop's lag: a slow statement of the embedded database on the main thread, or
// any other stall, shows there first. One registry per app, so apps in one process (the tests)
// keep their counts apart.
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** What the live half counts as it works (see rooms/room.ts and rooms/doc-store.ts). */
export interface LiveMetrics {
  /** A client's update applied and relayed to the doc's subscribers. */
  relayed(): void;
  /** One append transaction committed: its rows, and the seconds from its start. */
  appended(rows: number, seconds: number): void;
}

export class ServerMetrics implements LiveMetrics {
  readonly registry = new Registry();
  private readonly relayedUpdates = new Counter({ name: 'codeshare_relayed_updates_total', help: "Clients' updates applied and relayed to the doc's subscribers", registers: [this.registry] });
  private readonly persistedUpdates = new Counter({ name: 'codeshare_persisted_updates_total', help: 'Updates committed to the update log', registers: [this.registry] });
  private readonly appendRows = new Histogram({
    name: 'codeshare_append_batch_rows',
    help: 'Rows per append transaction of the update log (updates of many docs commit together)',
    buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 4096],
    registers: [this.registry],
  });
  private readonly appendSeconds = new Histogram({
    name: 'codeshare_append_seconds',
    help: 'Duration of an append transaction of the update log, until it committed',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  constructor(loaded: () => { rooms: number; sockets: number }) {
    new Gauge({ name: 'codeshare_rooms_loaded', help: 'Docs loaded in memory on this instance', registers: [this.registry], collect() { this.set(loaded().rooms); } });
    new Gauge({ name: 'codeshare_sockets', help: 'Open WebSocket connections on this instance', registers: [this.registry], collect() { this.set(loaded().sockets); } });
    // Process CPU and memory, heap, GC, and nodejs_eventloop_lag_seconds with its percentiles.
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 10 });
  }

  relayed(): void {
    this.relayedUpdates.inc();
  }

  appended(rows: number, seconds: number): void {
    this.persistedUpdates.inc(rows);
    this.appendRows.observe(rows);
    this.appendSeconds.observe(seconds);
  }
}

/** GET /metrics, unauthenticated like /healthz: counts and durations only, no names or content. */
export function registerMetricsRoute(app: FastifyInstance, metrics: ServerMetrics): void {
  app.get('/metrics', { config: { public: true } }, async (_request, reply) => {
    void reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}
