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
  };
}

export const defaultServerConfig = (): ServerConfig => ({
  openAuth: true,
  github: { clientId: null, apiUrl: 'https://api.github.com' },
  limits: { bodyBytes: 1024 * 1024, blobBytes: 100 * 1024 * 1024 },
});
