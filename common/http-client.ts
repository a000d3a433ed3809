// The one HTTP transport for the codeshare REST API, shared by the CLI (cli/api-client.ts) and the
// daemon (daemon/project-api.ts): base URL, bearer token, query strings, JSON and raw-byte bodies,
// a timeout, nextCursor paging, and every failure turned into one typed HttpError. What a person
// reads about a failure is the caller's business: each maps HttpError to its own wording.

export type Query = Record<string, string | number | undefined>;

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface RequestOptions {
  query?: Query;
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as application/octet-stream, byte for byte (takes the place of `body`). */
  bytes?: Uint8Array;
  /** Abort after this long (the whole exchange, body included); defaults to the client's. */
  timeoutMs?: number;
}

/** How a request failed: no connection, no answer in time, a non-2xx answer, or a 2xx that is not JSON. */
export type HttpErrorKind = 'network' | 'timeout' | 'refused' | 'not-json';

export const DEFAULT_TIMEOUT_MS = 30_000;
/** For blob and file transfers, which may be large. */
export const TRANSFER_TIMEOUT_MS = 10 * 60_000;
/** The largest page the server serves: fewer round trips for long listings. */
export const PAGE_SIZE = 200;

export interface HttpErrorDetails {
  kind: HttpErrorKind;
  method: string;
  /** The request path without its query string. */
  path: string;
  baseUrl: string;
  /** The HTTP status ('refused' and 'not-json'). */
  status?: number;
  statusText?: string;
  /** The server's error code (CS_ERR_...), when it answered with its error body. */
  code?: string;
  /** The server's own message, when it answered with its error body. */
  serverMessage?: string;
  /** The system error code of a network failure (ECONNREFUSED, ENOTFOUND, ...). */
  networkCode?: string;
  cause?: unknown;
}

export class HttpError extends Error {
  readonly kind: HttpErrorKind;
  readonly method: string;
  readonly path: string;
  readonly baseUrl: string;
  readonly status?: number;
  readonly statusText?: string;
  readonly code?: string;
  readonly serverMessage?: string;
  readonly networkCode?: string;

  constructor(details: HttpErrorDetails) {
    super(defaultMessage(details), details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'HttpError';
    this.kind = details.kind;
    this.method = details.method;
    this.path = details.path;
    this.baseUrl = details.baseUrl;
    this.status = details.status;
    this.statusText = details.statusText;
    this.code = details.code;
    this.serverMessage = details.serverMessage;
    this.networkCode = details.networkCode;
  }
}

/** The server's message for a refusal, else a plain account of what happened. */
function defaultMessage(d: HttpErrorDetails): string {
  switch (d.kind) {
    case 'refused':
      return d.serverMessage ?? `${d.method} ${d.path} answered ${d.status}`;
    case 'timeout':
      return `${d.method} ${d.path}: the server at ${d.baseUrl} did not answer in time`;
    case 'not-json':
      return `${d.method} ${d.path}: the server at ${d.baseUrl} answered with something that is not JSON`;
    case 'network':
      return `${d.method} ${d.path}: cannot reach the server at ${d.baseUrl}${d.networkCode ? ` (${d.networkCode})` : ''}`;
  }
}

/** The code of a network failure, looking through undici's wrapping and happy-eyeballs aggregates. */
function networkErrorCode(err: unknown): string | undefined {
  const cause = (err as { cause?: unknown } | null)?.cause as { code?: unknown; errors?: { code?: unknown }[] } | undefined;
  if (typeof cause?.code === 'string') return cause.code;
  const inner = cause?.errors?.find((e) => typeof e.code === 'string');
  return inner ? String(inner.code) : undefined;
}

export class HttpClient {
  /** Without trailing slashes: paths start with one. */
  readonly baseUrl: string;

  constructor(
    baseUrl: string,
    readonly token: string | null,
    private readonly defaultTimeoutMs = DEFAULT_TIMEOUT_MS,
  ) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
  }

  url(path: string, query: Query = {}): URL {
    const url = new URL(this.baseUrl + path);
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    return url;
  }

  /** Sends the request; resolves only to a 2xx response, whose body the caller reads. */
  async send(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    let payload: string | Uint8Array | undefined;
    if (options.bytes !== undefined) {
      headers['content-type'] = 'application/octet-stream';
      payload = options.bytes;
    } else if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(options.body);
    }
    let response: Response;
    try {
      response = await fetch(this.url(path, options.query), {
        method,
        headers,
        body: payload,
        signal: AbortSignal.timeout(options.timeoutMs ?? this.defaultTimeoutMs),
      });
    } catch (err) {
      throw this.networkError(method, path, err);
    }
    if (response.ok) return response;
    throw await this.refusal(method, path, response);
  }

  /** The parsed JSON answer; undefined for an empty body. */
  async json<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const response = await this.send(method, path, options);
    const text = await response.text().catch((err: unknown) => {
      throw this.networkError(method, path, err);
    });
    if (!text) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new HttpError({ kind: 'not-json', method, path, baseUrl: this.baseUrl, status: response.status, statusText: response.statusText, cause: err });
    }
  }

  /** The raw answer, byte for byte (Response.text() would drop a BOM). */
  async bytes(method: string, path: string, options: RequestOptions = {}): Promise<Buffer> {
    const response = await this.send(method, path, { timeoutMs: TRANSFER_TIMEOUT_MS, ...options });
    try {
      return Buffer.from(await response.arrayBuffer());
    } catch (err) {
      throw this.networkError(method, path, err);
    }
  }

  /** Every item of a paginated listing, following nextCursor to the end, PAGE_SIZE at a time. */
  async all<T>(path: string, query: Query = {}): Promise<T[]> {
    const items: T[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.json<Page<T>>('GET', path, { query: { ...query, limit: PAGE_SIZE, cursor } });
      items.push(...page.items);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return items;
  }

  private networkError(method: string, path: string, err: unknown): HttpError {
    if (err instanceof HttpError) return err;
    const name = (err as { name?: string } | null)?.name;
    const kind = name === 'TimeoutError' || name === 'AbortError' ? 'timeout' : 'network';
    return new HttpError({ kind, method, path, baseUrl: this.baseUrl, networkCode: kind === 'network' ? networkErrorCode(err) : undefined, cause: err });
  }

  private async refusal(method: string, path: string, response: Response): Promise<HttpError> {
    const body = (await response.json().catch(() => null)) as { error?: { code?: unknown; message?: unknown } } | null;
    const code = body?.error?.code;
    const message = body?.error?.message;
    return new HttpError({
      kind: 'refused',
      method,
      path,
      baseUrl: this.baseUrl,
      status: response.status,
      statusText: response.statusText,
      code: typeof code === 'string' ? code : undefined,
      serverMessage: typeof message === 'string' ? message : undefined,
    });
  }
}
