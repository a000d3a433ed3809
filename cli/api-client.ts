// A small typed client for the codeshare REST API over fetch. Every failure becomes a CliError
// a person can act on: the server's own message for refusals, a sign-in hint for 401, and a
// "is the server running?" for a server that cannot be reached.
import { CliError } from './errors.js';
import type { TokenSource } from '../common/credentials.js';

/** What the server answers with on every error. */
interface ErrorBody {
  error: { code: string; message: string };
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export type Query = Record<string, string | number | undefined>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  /** Abort after this long; long downloads pass more. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DOWNLOAD_TIMEOUT_MS = 10 * 60_000;
/** The largest page the server serves: fewer round trips for long listings. */
export const MAX_PAGE_SIZE = 200;

const AUTH_FAILURE_CODES = new Set(['CS_ERR_UNAUTHORIZED', 'CS_ERR_INVALID_TOKEN']);

function isErrorBody(value: unknown): value is ErrorBody {
  const error = (value as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  return typeof error?.code === 'string' && typeof error.message === 'string';
}

/** The code of a network failure, looking through undici's wrapping and happy-eyeballs aggregates. */
function networkErrorCode(err: unknown): string | undefined {
  const cause = (err as { cause?: unknown } | null)?.cause as { code?: unknown; errors?: { code?: unknown }[] } | undefined;
  if (typeof cause?.code === 'string') return cause.code;
  const inner = cause?.errors?.find((e) => typeof e.code === 'string');
  return inner ? String(inner.code) : undefined;
}

export class ApiClient {
  readonly baseUrl: string;

  constructor(
    baseUrl: string,
    readonly token: string | null,
    /** Where the token came from, so a refusal can say what to fix. */
    readonly tokenSource: TokenSource | null = token ? 'file' : null,
  ) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
  }

  /** A client for the same server with another token (sign-in checks a token before storing it). */
  withToken(token: string, tokenSource: TokenSource | null): ApiClient {
    return new ApiClient(this.baseUrl, token, tokenSource);
  }

  get<T>(path: string, query?: Query): Promise<T> {
    return this.json<T>('GET', path, { query });
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.json<T>('POST', path, { body });
  }

  patch<T>(path: string, body: unknown): Promise<T> {
    return this.json<T>('PATCH', path, { body });
  }

  async delete(path: string): Promise<void> {
    await this.send('DELETE', path, {});
  }

  /** Every item of a paginated listing, following nextCursor to the end. */
  async all<T>(path: string, query: Query = {}): Promise<T[]> {
    const items: T[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.get<Page<T>>(path, { ...query, limit: MAX_PAGE_SIZE, cursor });
      items.push(...page.items);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return items;
  }

  /** The raw body: text files come back byte for byte (Response.text() would drop a BOM). */
  async bytes(path: string, query?: Query): Promise<Buffer> {
    const response = await this.send('GET', path, { query, timeoutMs: DOWNLOAD_TIMEOUT_MS });
    try {
      return Buffer.from(await response.arrayBuffer());
    } catch (err) {
      throw this.networkError(err);
    }
  }

  async json<T>(method: string, path: string, options: RequestOptions): Promise<T> {
    const response = await this.send(method, path, options);
    const text = await response.text().catch((err: unknown) => {
      throw this.networkError(err);
    });
    if (!text) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new CliError(`the server at ${this.baseUrl} answered ${method} ${path} with something that is not JSON: is that address a codeshare server?`);
    }
  }

  /** Sends the request; resolves only to a 2xx response. */
  async send(method: string, path: string, options: RequestOptions): Promise<Response> {
    const url = new URL(this.baseUrl + path);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: AbortSignal.timeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
      });
    } catch (err) {
      throw this.networkError(err);
    }
    if (response.ok) return response;
    throw await this.refusal(response, path);
  }

  private networkError(err: unknown): CliError {
    const name = (err as { name?: string } | null)?.name;
    if (name === 'TimeoutError' || name === 'AbortError') {
      return new CliError(`the server at ${this.baseUrl} did not answer in time: check that it is running and reachable`);
    }
    const code = networkErrorCode(err);
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
      return new CliError(`cannot find the host of ${this.baseUrl} (${code}): check the server address (--server, CODESHARE_SERVER or the project URL)`);
    }
    return new CliError(`cannot reach the server at ${this.baseUrl}${code ? ` (${code})` : ''}: is \`codeshare server\` running?`);
  }

  private async refusal(response: Response, path: string): Promise<CliError> {
    const body: unknown = await response.json().catch(() => null);
    if (!isErrorBody(body)) {
      return new CliError(`the server at ${this.baseUrl} answered ${response.status} ${response.statusText} to ${path}: is that address a codeshare server?`);
    }
    const { code, message } = body.error;
    if (response.status === 401 && AUTH_FAILURE_CODES.has(code)) return new CliError(this.signInHint(), 1, code);
    if (code === 'CS_ERR_PROJECT_NOT_FOUND') {
      const ref = /^\/api\/projects\/([^/?]+)/.exec(path)?.[1];
      const named = ref ? ` ${decodeURIComponent(ref)}` : '';
      return new CliError(
        `project${named} not found on ${this.baseUrl}, or it is private and you are not a member: check the name with \`codeshare projects\``,
        1,
        code,
      );
    }
    return new CliError(message, 1, code);
  }

  private signInHint(): string {
    if (this.tokenSource === 'env') {
      return 'the server refused the token in CODESHARE_TOKEN (unknown, revoked or expired): create a new one with `codeshare token create`';
    }
    if (this.tokenSource === null) return `not signed in to ${this.baseUrl}: run \`codeshare auth login\``;
    return 'not signed in or token expired: run `codeshare auth login`';
  }
}

/** `/api/projects/<ref><rest>`: an owner/name ref travels as owner%2Fname. */
export const projectPath = (ref: string, rest = '') => `/api/projects/${encodeURIComponent(ref)}${rest}`;
