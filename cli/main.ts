// The entry point: parse, run, and turn whatever was thrown into one line and an exit code
// (0 success, 1 failure, 2 usage). Stack traces only with --debug.
import { CommanderError } from 'commander';
import { buildProgram } from './program.js';
import { CliError } from './errors.js';

const debug = process.argv.includes('--debug');

// `codeshare ... | head` closes stdout early: that is the reader being done, not a failure.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

async function main(): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    if (err instanceof CliError) {
      process.stderr.write(`codeshare: ${err.message}\n`);
      process.exitCode = err.exitCode;
    } else {
      process.stderr.write(`codeshare: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    }
    if (debug && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  }
}

await main();
