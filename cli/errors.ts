// Errors the CLI shows to a person: what went wrong and what to do. Commands throw these;
// only cli/main.ts turns them into an exit code.
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2 = 1,
    /** The server's error code when the server refused the request, for callers that branch on it. */
    readonly code?: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export const usageError = (message: string) => new CliError(message, 2);

/** Whether `err` is the server refusing with this code (CS_ERR_...). */
export const isServerError = (err: unknown, code: string): err is CliError => err instanceof CliError && err.code === code;
