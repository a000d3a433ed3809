// The CLI's stored sign-in: one server, its token and the user it belongs to, in
// <configDir>/credentials.json (0600, in a 0700 folder when codeshare creates it). The CLI
// writes it; the daemon reads it to connect. CODESHARE_SERVER and CODESHARE_TOKEN override the
// stored values, so CI can run without a file at all.
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { codesharePaths, type CodesharePaths } from './paths.js';
import { errnoCode } from './fs-helpers.js';

export const DEFAULT_SERVER_URL = 'http://127.0.0.1:4455';
export const CREDENTIALS_FILE = 'credentials.json';

export interface StoredCredentials {
  /** Origin of the server the token was issued by, e.g. http://127.0.0.1:4455. */
  server: string;
  token: string;
  username: string;
}

export type ServerSource = 'flag' | 'env' | 'file' | 'default';
export type TokenSource = 'env' | 'file';

export interface ResolvedCredentials {
  server: string;
  serverSource: ServerSource;
  /** Null when nobody signed in to this server and CODESHARE_TOKEN is unset. */
  token: string | null;
  tokenSource: TokenSource | null;
  /** Known from the file; null for a token from the environment until the server is asked. */
  username: string | null;
  credentialsFile: string;
}

export class CredentialsFileError extends Error {
  override readonly name = 'CredentialsFileError';
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`${file} is not a valid credentials file (${detail}): sign in again with \`codeshare auth login\`, or delete it`);
  }
}

export const credentialsFile = (paths: CodesharePaths = codesharePaths()) => join(paths.configDir, CREDENTIALS_FILE);

/**
 * The server URL in the one form credentials are compared in: the origin, plus a base path if
 * the server lives under one, without a trailing slash. Throws TypeError for anything that is
 * not an http(s) URL.
 */
export function normalizeServerUrl(value: string): string {
  const url = new URL(value.trim());
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`not an http(s) URL: ${value}`);
  if (url.username || url.password || url.search || url.hash) throw new TypeError(`a server URL has no credentials, query or fragment: ${value}`);
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

export async function readStoredCredentials(paths: CodesharePaths = codesharePaths()): Promise<StoredCredentials | null> {
  const file = credentialsFile(paths);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return null;
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new CredentialsFileError(file, 'not JSON');
  }
  const value = parsed as Partial<Record<keyof StoredCredentials, unknown>> | null;
  if (!value || typeof value.server !== 'string' || typeof value.token !== 'string' || typeof value.username !== 'string') {
    throw new CredentialsFileError(file, 'expected { server, token, username }');
  }
  try {
    return { server: normalizeServerUrl(value.server), token: value.token, username: value.username };
  } catch {
    throw new CredentialsFileError(file, `bad server URL ${JSON.stringify(value.server)}`);
  }
}

/**
 * Replaces the stored credentials. The temp file is created 0600 before the token is written
 * into it, so the secret is never readable by others, not even for a moment.
 */
export async function writeStoredCredentials(credentials: StoredCredentials, paths: CodesharePaths = codesharePaths()): Promise<string> {
  await mkdir(paths.configDir, { recursive: true, mode: 0o700 });
  const file = credentialsFile(paths);
  const tempFile = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  const body = `${JSON.stringify({ server: normalizeServerUrl(credentials.server), token: credentials.token, username: credentials.username }, null, 2)}\n`;
  const handle = await open(tempFile, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  try {
    // The umask cannot widen 0600, but an inherited ACL or an odd umask of 0 should not matter.
    await handle.chmod(0o600);
    await handle.writeFile(body);
    await handle.sync();
    await handle.close();
    await rename(tempFile, file);
  } catch (err) {
    await handle.close().catch(() => undefined);
    await unlink(tempFile).catch(() => undefined);
    throw err;
  }
  return file;
}

/** Resolves to false when there was nothing stored. */
export async function removeStoredCredentials(paths: CodesharePaths = codesharePaths()): Promise<boolean> {
  try {
    await unlink(credentialsFile(paths));
    return true;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false;
    throw err;
  }
}

/**
 * Which server to talk to and with which token. The server: an explicit one (a flag, or the
 * host of a project URL), else CODESHARE_SERVER, else the stored one, else the default. The
 * token: CODESHARE_TOKEN, else the stored token, but only when it was issued by that same
 * server: a token is never sent to a server it does not belong to.
 */
export async function resolveCredentials(
  options: { server?: string | undefined } = {},
  env: NodeJS.ProcessEnv = process.env,
): Promise<ResolvedCredentials> {
  const paths = codesharePaths(env);
  const stored = await readStoredCredentials(paths);
  let server: string;
  let serverSource: ServerSource;
  if (options.server) {
    server = normalizeServerUrl(options.server);
    serverSource = 'flag';
  } else if (env.CODESHARE_SERVER) {
    server = normalizeServerUrl(env.CODESHARE_SERVER);
    serverSource = 'env';
  } else if (stored) {
    server = stored.server;
    serverSource = 'file';
  } else {
    server = DEFAULT_SERVER_URL;
    serverSource = 'default';
  }
  const file = credentialsFile(paths);
  if (env.CODESHARE_TOKEN) {
    return { server, serverSource, token: env.CODESHARE_TOKEN.trim(), tokenSource: 'env', username: null, credentialsFile: file };
  }
  if (stored && stored.server === server) {
    return { server, serverSource, token: stored.token, tokenSource: 'file', username: stored.username, credentialsFile: file };
  }
  return { server, serverSource, token: null, tokenSource: null, username: null, credentialsFile: file };
}
