// GitHub sign-in for a terminal: the OAuth device flow. GitHub shows the person a page where
// they type a short code; meanwhile we poll until they approve, deny, or the code expires.
// GitHub Enterprise works too: GITHUB_URL / --github-url names its web address.
import { createOAuthDeviceAuth } from '@octokit/auth-oauth-device';
import { request } from '@octokit/request';
import { CliError, usageError } from './errors.js';
import { note } from './output.js';

export const DEFAULT_GITHUB_URL = 'https://github.com';

export interface DeviceVerification {
  userCode: string;
  verificationUri: string;
  expiresInSeconds: number;
}

/**
 * The REST API base for a GitHub web address. @octokit/oauth-methods derives the OAuth
 * endpoints (/login/device/code, /login/oauth/access_token) back from this base: api.github.com
 * maps to github.com, api.<x>.ghe.com to <x>.ghe.com, and anything else loses its "/api/v3". So
 * an Enterprise Server at https://ghe.example.com gets https://ghe.example.com/api/v3, and the
 * codeshare server's github.apiUrl must be that same address.
 */
export function githubApiBaseUrl(githubUrl: string): string {
  let url: URL;
  try {
    url = new URL(githubUrl.trim());
  } catch {
    throw usageError(`bad GitHub address ${JSON.stringify(githubUrl)}: pass its web address, e.g. https://github.com`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw usageError(`bad GitHub address ${JSON.stringify(githubUrl)}: it must be an http(s) URL`);
  }
  const base = `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
  if (/^https:\/\/(api\.)?github\.com$/.test(base)) return 'https://api.github.com';
  if (/^https:\/\/api\.[^/]+\.ghe\.com$/.test(base)) return base;
  if (/^https:\/\/[^/]+\.ghe\.com$/.test(base)) return base.replace('https://', 'https://api.');
  if (base.endsWith('/api/v3')) return base;
  return `${base}/api/v3`;
}

/** The `error` field of a GitHub OAuth answer, from the RequestError the library throws. */
function oauthErrorOf(err: unknown): { error: string; description: string } | undefined {
  const data = (err as { response?: { data?: { error?: unknown; error_description?: unknown } } } | null)?.response?.data;
  if (typeof data?.error !== 'string') return undefined;
  return { error: data.error, description: typeof data.error_description === 'string' ? data.error_description : data.error };
}

function failureOf(err: unknown, githubUrl: string, clientId: string): CliError {
  const oauth = oauthErrorOf(err);
  switch (oauth?.error) {
    case 'expired_token':
      return new CliError('the GitHub code expired before it was approved: run `codeshare auth login` again and enter the new code sooner');
    case 'access_denied':
      return new CliError('GitHub sign-in was denied (Cancel was chosen on GitHub): run `codeshare auth login` to try again');
    case 'device_flow_disabled':
      return new CliError(`the server's GitHub OAuth app (client id ${clientId}) does not allow the device flow: its owner must enable "Device Flow" in the app's settings`);
    case 'incorrect_client_credentials':
      return new CliError(`GitHub does not know the server's OAuth client id ${clientId}: ask the server's admin to check GITHUB_CLIENT_ID`);
  }
  if (oauth) return new CliError(`GitHub refused the sign-in: ${oauth.description} (${oauth.error})`);
  const status = (err as { status?: unknown } | null)?.status;
  const message = err instanceof Error ? err.message : String(err);
  if (status === 500 || status === undefined) {
    return new CliError(`cannot reach GitHub at ${githubUrl} (${message}): check the network, or GITHUB_URL / --github-url for GitHub Enterprise`);
  }
  return new CliError(`GitHub answered ${status} during sign-in (${message}): check GITHUB_URL / --github-url`);
}

/** Runs the device flow to its end and returns the GitHub access token. */
export async function githubDeviceFlowToken(options: {
  clientId: string;
  githubUrl: string;
  onVerification: (verification: DeviceVerification) => void;
}): Promise<string> {
  const githubRequest = request.defaults({
    baseUrl: githubApiBaseUrl(options.githubUrl),
    headers: { 'user-agent': 'codeshare-cli' },
    // The library would otherwise warn through console.
    request: { log: { debug: () => {}, info: () => {}, warn: (message: string) => note(`codeshare: ${message}`), error: (message: string) => note(`codeshare: ${message}`) } },
  });
  const auth = createOAuthDeviceAuth({
    clientType: 'oauth-app',
    clientId: options.clientId,
    // No scopes: the server reads only the public profile (GET /user) to know who signed in.
    scopes: [],
    request: githubRequest,
    onVerification: (verification) =>
      options.onVerification({
        userCode: verification.user_code,
        verificationUri: verification.verification_uri,
        expiresInSeconds: verification.expires_in,
      }),
  });
  try {
    const authentication = await auth({ type: 'oauth' });
    return authentication.token;
  } catch (err) {
    throw failureOf(err, options.githubUrl, options.clientId);
  }
}
