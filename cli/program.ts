// Declares the commands and nothing else. Each command's module is imported only when that
// command runs, so `codeshare --help` stays fast.
import { Command, InvalidArgumentError, Option } from 'commander';

export function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError('expected a port number 0-65535');
  return port;
}

export function buildProgram(): Command {
  const program = new Command()
    .name('codeshare')
    .description('Work live in one shared project from your own folders and your own editors.')
    .version('0.1.0')
    .option('--debug', 'show stack traces on errors')
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(str) })
    .showHelpAfterError('(run with --help for usage)');

  program
    .command('server')
    .description('Run a codeshare server (embedded database unless --database-url is given)')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on; 0 picks a free one', parsePort, 4455)
    .option('--data-dir <dir>', 'folder of the embedded database (default: inside $CODESHARE_HOME)')
    .option('--database-url <url>', 'PostgreSQL URL (postgres://...); also DATABASE_URL')
    .addOption(new Option('--auth <mode>', 'sign-in: open (a name is enough) or github').choices(['open', 'github']))
    .option('--log-level <level>', 'pino log level on stderr', 'info')
    .addHelpText('after', '\nExample:\n  codeshare server --port 4455\n  codeshare server --host 0.0.0.0 --database-url postgres://codeshare@db/codeshare')
    .action(async (options) => {
      const { runServer } = await import('./commands/server.js');
      await runServer(options);
    });

  return program;
}
