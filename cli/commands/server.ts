import { codesharePaths } from '../../common/paths.js';
import { defaultServerConfig } from '../../server/config.js';
import { isLoopback, serverLoggerOptions, startServer } from '../../server/main.js';
import { usageError } from '../errors.js';

export interface ServerCommandOptions {
  host: string;
  port: number;
  dataDir?: string;
  databaseUrl?: string;
  redisUrl?: string;
  auth?: 'open' | 'github';
  logLevel: string;
}

export async function runServer(options: ServerCommandOptions): Promise<void> {
  const databaseUrl = options.databaseUrl ?? process.env.DATABASE_URL ?? undefined;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw usageError('--database-url must be a postgres:// URL');
  }
  const redisUrl = options.redisUrl ?? process.env.REDIS_URL ?? undefined;
  if (redisUrl && !/^rediss?:\/\//.test(redisUrl)) throw usageError('--redis-url must be a redis:// (or rediss://) URL');
  // Instances share what they store: an embedded database belongs to one process.
  if (redisUrl && !databaseUrl) throw usageError('--redis-url needs --database-url: the instances share one PostgreSQL');
  const loopback = isLoopback(options.host);
  const openAuth = options.auth ? options.auth === 'open' : loopback;
  const config = defaultServerConfig();
  config.openAuth = openAuth;
  config.cluster.redisUrl = redisUrl ?? null;
  config.github.clientId = process.env.GITHUB_CLIENT_ID || null;
  config.github.apiUrl = process.env.GITHUB_API_URL || config.github.apiUrl;
  config.ai.baseUrl = process.env.OPENAI_BASE_URL || null;
  config.ai.apiKey = process.env.OPENAI_API_KEY || null;
  config.ai.model = process.env.CODESHARE_AI_MODEL || null;
  const contextTokens = Number(process.env.CODESHARE_AI_CONTEXT_TOKENS);
  if (Number.isInteger(contextTokens) && contextTokens >= 500) config.ai.contextTokens = contextTokens;
  if (openAuth && !loopback) {
    process.stderr.write(
      `codeshare: warning: open sign-in on ${options.host}: anyone who can reach this address can sign in under any name\n`,
    );
  }
  if (!openAuth && !config.github.clientId) {
    process.stderr.write('codeshare: warning: open sign-in is off and GITHUB_CLIENT_ID is not set: only existing API tokens work\n');
  }
  if (!config.ai.model || !(config.ai.apiKey || config.ai.baseUrl)) {
    process.stderr.write('codeshare: note: `codeshare ask` is off: set OPENAI_API_KEY and CODESHARE_AI_MODEL (and OPENAI_BASE_URL for a provider other than OpenAI)\n');
  }
  const running = await startServer({
    host: options.host,
    port: options.port,
    databaseUrl,
    dataDir: options.dataDir ?? codesharePaths().dataDir,
    config,
    logger: serverLoggerOptions(options.logLevel),
  });
  process.stdout.write(`codeshare server listening on ${running.url}\n`);

  let closing = false;
  const stop = (signal: string) => {
    if (closing) return;
    closing = true;
    running.app.log.info({ signal }, 'shutting down');
    running.close().then(
      () => process.exit(0),
      (err: unknown) => {
        running.app.log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}
