// What a server instance is configured with; the CLI's `server` command fills it from flags
// and the environment, tests fill it directly.
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
    /** project_files lags the last edit by this quiet time, and never by more than the ceiling. */
    materializeDebounceMs: number;
    materializeMaxDelayMs: number;
  };
}

export const defaultServerConfig = (): ServerConfig => ({
  openAuth: true,
  github: { clientId: null, apiUrl: 'https://api.github.com' },
  limits: {
    bodyBytes: 1024 * 1024,
    blobBytes: 100 * 1024 * 1024,
    frameBytes: 16 * 1024 * 1024,
    docsPerConnection: 100_000,
    updatesPerSecond: 2_000,
    updateBurst: 50_000,
  },
  rooms: {
    idleUnloadMs: 30_000,
    compactAfterUpdates: 500,
    compactAfterBytes: 4 * 1024 * 1024,
    materializeDebounceMs: 150,
    materializeMaxDelayMs: 800,
  },
});
