// Errors the CLI shows to a person: what went wrong and what to do. Commands throw these;
// only cli/main.ts turns them into an exit code.
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2 = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export const usageError = (message: string) => new CliError(message, 2);
