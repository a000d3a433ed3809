// The CLI's client for the codeshare REST API, on the shared transport (common/http-client.ts).
// Every failure becomes a CliError a person can act on: the server's own message for refusals, a
// sign-in hint for 401, and a "is the server running?" for a server that cannot be reached.
import { CliError } from './errors.js';
import type { TokenSource } from '../common/credentials.js';
import { HttpClient, HttpError, PAGE_SIZE, type Query, type RequestOptions } from '../common/http-client.js';

export type { Page, Query, RequestOptions } from '../common/http-client.js';

/** The largest page the server serves: fewer round trips for long listings. */
export const MAX_PAGE_SIZE = PAGE_SIZE;

const AUTH_FAILURE_CODES = new Set(['CS_ERR_UNAUTHORIZED', 'CS_ERR_INVALID_TOKEN']);

export class ApiClient {
  private readonly http: HttpClient;

  constructor(
    baseUrl: string,
    readonly token: string | null,
    /** Where the token came from, so a refusal can say what to fix. */
    readonly tokenSource: TokenSource | null = token ? 'file' : null,
  ) {
    this.http = new HttpClient(baseUrl, token);
  }

  get baseUrl(): string {
    return this.http.baseUrl;
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
  all<T>(path: string, query: Query = {}): Promise<T[]> {
    return this.mapped(this.http.all<T>(path, query));
  }

  /** The raw body: text files come back byte for byte (Response.text() would drop a BOM). */
  bytes(path: string, query?: Query): Promise<Buffer> {
    return this.mapped(this.http.bytes('GET', path, { query }));
  }

  json<T>(method: string, path: string, options: RequestOptions): Promise<T> {
    return this.mapped(this.http.json<T>(method, path, options));
  }

  /** Sends the request; resolves only to a 2xx response. */
  send(method: string, path: string, options: RequestOptions): Promise<Response> {
    return this.mapped(this.http.send(method, path, options));
  }

  private async mapped<T>(request: Promise<T>): Promise<T> {
    try {
      return await request;
    } catch (err) {
      throw err instanceof HttpError ? this.cliError(err) : err;
    }
  }

  private cliError(err: HttpError): CliError {
    switch (err.kind) {
      case 'timeout':
        return new CliError(`the server at ${this.baseUrl} did not answer in time: check that it is running and reachable`);
      case 'network':
        if (err.networkCode === 'ENOTFOUND' || err.networkCode === 'EAI_AGAIN') {
          return new CliError(
            `cannot find the host of ${this.baseUrl} (${err.networkCode}): check the server address (--server, CODESHARE_SERVER or the project URL)`,
          );
        }
        return new CliError(`cannot reach the server at ${this.baseUrl}${err.networkCode ? ` (${err.networkCode})` : ''}: is \`codeshare server\` running?`);
      case 'not-json':
        return new CliError(`the server at ${this.baseUrl} answered ${err.method} ${err.path} with something that is not JSON: is that address a codeshare server?`);
      case 'refused':
        return this.refusal(err);
    }
  }

  private refusal(err: HttpError): CliError {
    const { code, serverMessage: message } = err;
    if (code === undefined || message === undefined) {
      return new CliError(`the server at ${this.baseUrl} answered ${err.status} ${err.statusText} to ${err.path}: is that address a codeshare server?`);
    }
    if (err.status === 401 && AUTH_FAILURE_CODES.has(code)) return new CliError(this.signInHint(), 1, code);
    if (code === 'CS_ERR_PROJECT_NOT_FOUND') {
      const ref = /^\/api\/projects\/([^/?]+)/.exec(err.path)?.[1];
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
