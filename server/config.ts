// What a server instance is configured with; the CLI's `server` command fills it from flags
// and the environment, tests fill it directly.
import { MAX_SHARED_FILE_BYTES } from '../common/index-entry.js';
import type { HeartbeatTiming } from './cluster/instance-heartbeat.js';
import type { StreamLimits } from './cluster/redis-fanout.js';

export interface ServerConfig {
  /** Open sign-in: a name is enough. For loopback trials and trusted networks. */
  openAuth: boolean;
  github: {
    /** OAuth app client id for the device flow; GitHub sign-in is off without it. */
    clientId: string | null;
    /** REST API base, https://api.github.com unless GITHUB_API_URL says otherwise. */
    apiUrl: string;
  };
  limits: {
    /** Largest JSON request body. */
    bodyBytes: number;
    /** Largest blob (binary file or large text file). */
    blobBytes: number;
    /** Largest WebSocket frame; bigger ones are refused with close code 4413. */
    frameBytes: number;
    /** Docs one connection may follow at once (a repo of N files needs N + 1). */
    docsPerConnection: number;
    /** Sustained and burst update frames per connection. */
    updatesPerSecond: number;
    updateBurst: number;
  };
  rooms: {
    idleUnloadMs: number;
    compactAfterUpdates: number;
    compactAfterBytes: number;
    compactOnUnloadAfterUpdates: number;
    /** project_files lags the last edit by this quiet time, and never by more than the ceiling. */
    materializeDebounceMs: number;
    materializeMaxDelayMs: number;
    /** Index entries one materialiser transaction decides and stores (a share's run is many). */
    materializeSliceEntries: number;
    /**
     * Appends to the update log start at least this far apart (group commit): a burst of edits
     * waits at most this long for `persisted`, and costs a statement per interval, not per edit.
     */
    appendIntervalMs: number;
  };
  /** Several instances on one PostgreSQL (DESIGN.md, Scale-out). */
  cluster: {
    /** REDIS_URL / --redis-url: fan-out and presence between instances; null: this process alone. */
    redisUrl: string | null;
    streams?: Partial<StreamLimits>;
    heartbeat?: HeartbeatTiming;
  };
  /** Questions about a project, answered by an OpenAI-compatible chat API. */
  ai: {
    /** API base such as https://api.openai.com/v1 (OPENAI_BASE_URL); null: OpenAI's. */
    baseUrl: string | null;
    /** OPENAI_API_KEY; a local server that needs none may leave it null when baseUrl is set. */
    apiKey: string | null;
    /** CODESHARE_AI_MODEL; asking is off without it. */
    model: string | null;
    /** The context sent with a question (files, tree, activity, git), in tokens of ~4 characters. */
    contextTokens: number;
    /** Earlier turns of the session sent along, in the same tokens. */
    historyTokens: number;
    /** Longest wait for the provider to start answering, per attempt. */
    timeoutMs: number;
    /** Longest silence in the middle of an answer before it counts as broken off. */
    streamIdleMs: number;
    /** Retries of a refused or failed request (429, 5xx, timeouts) before any of the answer arrived. */
    maxRetries: number;
    /** Projects whose search index stays in memory (least recently asked leave first). */
    indexedProjects: number;
  };
}

export const defaultServerConfig = (): ServerConfig => ({
  openAuth: true,
  github: { clientId: null, apiUrl: 'https://api.github.com' },
  limits: {
    bodyBytes: 1024 * 1024,
    blobBytes: MAX_SHARED_FILE_BYTES,
    frameBytes: 16 * 1024 * 1024,
    docsPerConnection: 100_000,
    updatesPerSecond: 2_000,
    updateBurst: 50_000,
  },
  rooms: {
    idleUnloadMs: 30_000,
    compactAfterUpdates: 500,
    compactAfterBytes: 4 * 1024 * 1024,
    compactOnUnloadAfterUpdates: 50,
    materializeDebounceMs: 150,
    materializeMaxDelayMs: 800,
    materializeSliceEntries: 2_000,
    appendIntervalMs: 10,
  },
  cluster: { redisUrl: null },
  ai: {
    baseUrl: null,
    apiKey: null,
    model: null,
    contextTokens: 6000,
    historyTokens: 1500,
    timeoutMs: 60_000,
    streamIdleMs: 60_000,
    maxRetries: 2,
    indexedProjects: 16,
  },
});
