// The model behind the answers: any OpenAI-compatible chat API, through the openai package.
// The client retries refusals that are safe to retry (429, 5xx, timeouts, connection errors)
// itself, before any of an answer arrived; this file turns what it finally throws into the
// server's coded errors.
import OpenAI from 'openai';
import type { FastifyBaseLogger as Logger } from 'fastify';
import type { ServerConfig } from '../config.js';
import { errors, type AppError } from '../errors.js';

export type AiSettings = ServerConfig['ai'];

export const OPENAI_DEFAULT_BASE_URL = 'https://api.openai.com/v1';

/** Configured: a model, and a key (or a base URL of a local server that needs none). */
export function aiConfigured(settings: AiSettings): settings is AiSettings & { model: string } {
  return Boolean(settings.model && (settings.apiKey || settings.baseUrl));
}

export function createProviderClient(settings: AiSettings, log: Logger): OpenAI {
  const forward = (level: 'error' | 'warn' | 'info' | 'debug') => (message: string, ...rest: unknown[]) =>
    log[level]({ detail: rest.length > 0 ? rest : undefined }, `openai: ${message}`);
  // Everything explicit: the openai package would otherwise read OPENAI_* from the environment,
  // and the server's configuration is the one place these come from.
  return new OpenAI({
    apiKey: settings.apiKey ?? 'none',
    baseURL: settings.baseUrl ?? OPENAI_DEFAULT_BASE_URL,
    organization: null,
    project: null,
    timeout: settings.timeoutMs,
    maxRetries: settings.maxRetries,
    logLevel: 'warn',
    logger: { error: forward('error'), warn: forward('warn'), info: forward('info'), debug: forward('debug') },
  });
}

const seconds = (ms: number) => (ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`);

/** The coded error for what the provider client threw. */
export function providerError(err: unknown, settings: AiSettings): AppError {
  const attempts = settings.maxRetries + 1;
  const host = settings.baseUrl ?? OPENAI_DEFAULT_BASE_URL;
  if (err instanceof OpenAI.APIConnectionTimeoutError) {
    return errors.aiTimeout(`did not start answering within ${seconds(settings.timeoutMs)} (${attempts} attempts)`);
  }
  if (err instanceof OpenAI.APIConnectionError) {
    const cause = (err.cause as { cause?: { code?: string }; code?: string } | undefined) ?? undefined;
    const code = cause?.code ?? cause?.cause?.code;
    return errors.aiProviderUnreachable(`${host}${code ? ` (${code})` : ''}`);
  }
  if (err instanceof OpenAI.APIError) {
    const status = err.status;
    if (status === 401 || status === 403) return errors.aiProviderAuth(status);
    if (status === 404) return errors.aiModelNotFound(settings.model ?? '(none)');
    if (status === 429) return errors.aiRateLimited(attempts);
    const detail = providerMessage(err);
    if (status !== undefined && status >= 500) return errors.aiProviderFailed(`${status}${detail ? ` ${detail}` : ''} (${attempts} attempts)`);
    if (status !== undefined) return errors.aiProviderFailed(`it refused the request (${status})${detail ? `: ${detail}` : ''}`);
    return errors.aiProviderFailed(detail || 'an error in the middle of the answer');
  }
  return errors.aiProviderFailed(err instanceof Error ? err.message : String(err));
}

/** The provider's own words, shortened: they name the problem (context too long, bad parameter). */
function providerMessage(err: InstanceType<typeof OpenAI.APIError>): string {
  const body = err.error as { message?: unknown } | undefined;
  const message = typeof body?.message === 'string' ? body.message : '';
  return message.length > 300 ? `${message.slice(0, 300)}…` : message;
}
