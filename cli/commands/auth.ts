// `codeshare auth login|status|logout`: get a codeshare token from the server (GitHub device
// flow, open mode, or a token piped in for CI), store it, show it, forget it.
import { credentialsFile as credentialsFileOf, DEFAULT_SERVER_URL, normalizeServerUrl, readStoredCredentials, removeStoredCredentials, writeStoredCredentials, type ServerSource, type TokenSource } from '../../common/credentials.js';
import { ApiClient } from '../api-client.js';
import { CliError, isServerError, usageError } from '../errors.js';
import { DEFAULT_GITHUB_URL, githubDeviceFlowToken } from '../github-device-flow.js';
import { note, table } from '../output.js';
import { openServerSession, type MeResponse, type UserInfo } from '../server-session.js';

export type LoginMethod = 'token' | 'open' | 'github';

export interface SignedInUser {
  id: string;
  username: string;
  displayName: string | null;
}

export interface LoginResult {
  server: string;
  user: SignedInUser;
  method: LoginMethod;
  credentialsFile: string;
}

export interface LoginOptions {
  server?: string;
  name?: string;
  withToken?: boolean;
  githubUrl?: string;
  /** The token for --with-token; reads stdin when not given. */
  readToken?: () => Promise<string>;
}

/** GET /api/auth/config */
interface AuthConfig {
  open: boolean;
  github: { clientId: string } | null;
}

interface SignedIn {
  token: string;
  user: UserInfo;
}

// The server's rule for usernames (GitHub's): letters, digits, single hyphens inside.
const USERNAME = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9]))*$/;

const userOf = (user: UserInfo): SignedInUser => ({ id: user.id, username: user.username, displayName: user.displayName });

export async function readTokenFromStdin(): Promise<string> {
  if (process.stdin.isTTY) {
    throw usageError('--with-token reads the token from stdin: pipe it in, e.g. `echo "$CODESHARE_TOKEN" | codeshare auth login --with-token`');
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The server to sign in to: --server, CODESHARE_SERVER, the stored one, the default. Unlike
 * other commands, a damaged credentials file is no obstacle: signing in replaces it.
 */
async function loginServer(flag: string | undefined): Promise<string> {
  const explicit = flag ?? process.env.CODESHARE_SERVER;
  try {
    if (explicit) return normalizeServerUrl(explicit);
  } catch (err) {
    throw usageError(`bad server address: ${err instanceof Error ? err.message : String(err)}: pass an http(s) URL such as ${DEFAULT_SERVER_URL}`);
  }
  return (await readStoredCredentials().catch(() => null))?.server ?? DEFAULT_SERVER_URL;
}

export async function login(options: LoginOptions): Promise<LoginResult> {
  if (options.withToken && options.name !== undefined) throw usageError('pass either --with-token or --name, not both');
  if (options.name !== undefined && (!USERNAME.test(options.name) || options.name.length > 39)) {
    throw usageError(`--name ${JSON.stringify(options.name)} is not a valid username: 1-39 letters, digits or inner single hyphens`);
  }
  const server = await loginServer(options.server);
  const api = new ApiClient(server, null, null);

  let signedIn: SignedIn;
  let method: LoginMethod;
  if (options.withToken) {
    const token = (await (options.readToken ?? readTokenFromStdin)()).trim();
    if (!token) throw usageError('no token on stdin: pipe one in, e.g. `echo "$CODESHARE_TOKEN" | codeshare auth login --with-token`');
    const me = await api.withToken(token, 'env').get<MeResponse>('/api/me').catch((err: unknown) => {
      if (isServerError(err, 'CS_ERR_INVALID_TOKEN') || isServerError(err, 'CS_ERR_UNAUTHORIZED')) {
        throw new CliError(`the server at ${server} does not accept that token (unknown, revoked or expired): create a new one with \`codeshare token create\``);
      }
      throw err;
    });
    signedIn = { token, user: me.user };
    method = 'token';
  } else if (options.name !== undefined) {
    signedIn = await api.post<SignedIn>('/api/auth/open', { username: options.name }).catch((err: unknown) => {
      if (isServerError(err, 'CS_ERR_OPEN_AUTH_DISABLED')) {
        throw new CliError(`the server at ${server} does not allow signing in with just a name: run \`codeshare auth login\` to sign in with GitHub`);
      }
      throw err;
    });
    method = 'open';
  } else {
    const config = await api.get<AuthConfig>('/api/auth/config');
    if (!config.github) {
      if (config.open) {
        throw usageError(`the server at ${server} signs people in by name (open mode), not with GitHub: run \`codeshare auth login --name <your-name>\``);
      }
      throw new CliError(
        `the server at ${server} has neither GitHub sign-in (GITHUB_CLIENT_ID) nor open sign-in configured: ask its admin for an API token and run \`codeshare auth login --with-token\``,
      );
    }
    const githubUrl = options.githubUrl ?? process.env.GITHUB_URL ?? DEFAULT_GITHUB_URL;
    const accessToken = await githubDeviceFlowToken({
      clientId: config.github.clientId,
      githubUrl,
      onVerification: ({ userCode, verificationUri, expiresInSeconds }) => {
        note(`To sign in with GitHub, open ${verificationUri} and enter the code: ${userCode}`);
        note(`Waiting for approval (the code expires in ${Math.round(expiresInSeconds / 60)} minutes)...`);
      },
    });
    signedIn = await api.post<SignedIn>('/api/auth/github', { accessToken });
    method = 'github';
  }

  const previous = await readStoredCredentials().catch(() => null);
  const credentialsFile = await writeStoredCredentials({ server, token: signedIn.token, username: signedIn.user.username });
  if (previous && previous.server !== server) note(`codeshare: replaced the stored sign-in to ${previous.server}`);
  if (process.env.CODESHARE_TOKEN) note('codeshare: note: CODESHARE_TOKEN is set and takes precedence over the stored token: unset it to use this sign-in');
  return { server, user: userOf(signedIn.user), method, credentialsFile };
}

export function formatLogin(result: LoginResult): string[] {
  return [`Signed in to ${result.server} as ${result.user.username} (token stored in ${result.credentialsFile})`];
}

export interface AuthStatus {
  server: string;
  serverSource: ServerSource;
  /** Whether the server accepted the token just now. */
  signedIn: boolean;
  user: SignedInUser | null;
  tokenSource: TokenSource | null;
  token: MeResponse['token'] | null;
  credentialsFile: string;
  /** Why signedIn is false, with what to do. */
  problem: string | null;
}

export async function authStatus(options: { server?: string }): Promise<AuthStatus> {
  const session = await openServerSession({ server: options.server, requireToken: false });
  const { credentials, server } = session;
  const status = (signedIn: boolean, me: MeResponse | null, problem: string | null): AuthStatus => ({
    server: server,
    serverSource: credentials.serverSource,
    signedIn,
    user: me ? userOf(me.user) : null,
    tokenSource: credentials.tokenSource,
    token: me ? me.token : null,
    credentialsFile: credentials.credentialsFile,
    problem,
  });
  if (!credentials.token) return status(false, null, `not signed in to ${server}: run \`codeshare auth login\``);
  try {
    return status(true, await session.whoAmI(), null);
  } catch (err) {
    if (err instanceof CliError) return status(false, null, err.message);
    throw err;
  }
}

const SERVER_SOURCE_LABEL: Record<ServerSource, string> = {
  flag: 'from --server',
  env: 'from CODESHARE_SERVER',
  file: 'stored',
  default: 'default',
};

export function formatAuthStatus(status: AuthStatus): string[] {
  const rows: string[][] = [['server', `${status.server} (${SERVER_SOURCE_LABEL[status.serverSource]})`]];
  if (status.user && status.token) {
    rows.push(['user', status.user.displayName ? `${status.user.username} (${status.user.displayName})` : status.user.username]);
    const source = status.tokenSource === 'env' ? 'CODESHARE_TOKEN' : status.credentialsFile;
    const scope = status.token.projectId ? `, limited to project ${status.token.projectId}${status.token.role ? ` as ${status.token.role}` : ''}` : '';
    rows.push(['token', `${status.token.kind} token from ${source}${scope}, expires ${status.token.expiresAt ?? 'never'}`]);
  } else {
    rows.push(['signed in', `no: ${status.problem ?? 'unknown'}`]);
  }
  return table(rows);
}

export interface LogoutResult {
  /** The server the removed token belonged to; null when nothing was stored. */
  server: string | null;
  username: string | null;
  /** Whether a stored token was removed from this machine. */
  removed: boolean;
  /** Whether the server revoked the session token too (best effort: it may be unreachable). */
  revoked: boolean;
  credentialsFile: string;
}

export async function logout(): Promise<LogoutResult> {
  // Not through openServerSession: a damaged credentials file must still be removable.
  const credentialsFile = credentialsFileOf();
  const stored = await readStoredCredentials().catch(() => null);
  let revoked = false;
  if (stored) {
    // Revoke sign-in sessions only: a token piped in with --with-token may be one a CI
    // pipeline still uses, and signing out here must not break it.
    const api = new ApiClient(stored.server, stored.token, 'file');
    try {
      const me = await api.get<MeResponse>('/api/me');
      if (me.token.kind === 'session') {
        await api.delete(`/api/tokens/${encodeURIComponent(me.token.id)}`);
        revoked = true;
      }
    } catch (err) {
      if (!(err instanceof CliError)) throw err;
      note(`codeshare: could not revoke the token on ${stored.server} (${err.message}); removing it here anyway`);
    }
  }
  const removed = await removeStoredCredentials();
  if (process.env.CODESHARE_TOKEN) note('codeshare: CODESHARE_TOKEN is still set: unset it to sign out completely');
  return { server: stored?.server ?? null, username: stored?.username ?? null, removed, revoked, credentialsFile };
}

export function formatLogout(result: LogoutResult): string[] {
  if (!result.removed) return ['Not signed in: nothing to remove'];
  return [`Signed out ${result.username} from ${result.server}${result.revoked ? ' (token revoked on the server)' : ''}`];
}
