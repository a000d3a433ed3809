// Sign-in: open mode (a name is enough) and GitHub (a device-flow access token, verified
// against the GitHub API). Both answer with a codeshare session token.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { errors } from '../errors.js';
import { issueToken } from '../repos/tokens.js';
import { findOrCreateUserByName, toUserDto, upsertGithubUser, type GithubProfile } from '../repos/users.js';
import { ErrorResponse, UserSchema, Username } from '../schemas.js';

const SignedIn = Type.Object({ token: Type.String(), user: UserSchema });
const GITHUB_TIMEOUT_MS = 10_000;

export const authRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/auth/config',
    {
      config: { public: true },
      schema: {
        response: {
          200: Type.Object({
            open: Type.Boolean(),
            github: Type.Union([Type.Object({ clientId: Type.String() }), Type.Null()]),
          }),
        },
      },
    },
    async () => ({
      open: app.config.openAuth,
      github: app.config.github.clientId ? { clientId: app.config.github.clientId } : null,
    }),
  );

  app.post(
    '/auth/open',
    {
      config: { public: true },
      schema: {
        body: Type.Object({ username: Username }, { additionalProperties: false }),
        response: { 200: SignedIn, 400: ErrorResponse, 403: ErrorResponse },
      },
    },
    async (request) => {
      if (!app.config.openAuth) throw errors.openAuthDisabled();
      const user = await findOrCreateUserByName(app.db, request.body.username);
      const { token } = await issueToken(app.db, { userId: user.id, name: 'open sign-in', kind: 'session' });
      return { token, user: toUserDto(user) };
    },
  );

  app.post(
    '/auth/github',
    {
      config: { public: true },
      schema: {
        body: Type.Object({ accessToken: Type.String({ minLength: 1, maxLength: 1000 }) }, { additionalProperties: false }),
        response: { 200: SignedIn, 400: ErrorResponse, 401: ErrorResponse, 502: ErrorResponse },
      },
    },
    async (request) => {
      const profile = await fetchGithubProfile(app.config.github.apiUrl, request.body.accessToken);
      const user = await upsertGithubUser(app.db, profile);
      const { token } = await issueToken(app.db, { userId: user.id, name: 'GitHub sign-in', kind: 'session' });
      return { token, user: toUserDto(user) };
    },
  );
};

async function fetchGithubProfile(apiUrl: string, accessToken: string): Promise<GithubProfile> {
  let response: Response;
  try {
    response = await fetch(`${apiUrl.replace(/\/+$/, '')}/user`, {
      headers: {
        authorization: `Bearer ${accessToken}`,
        accept: 'application/vnd.github+json',
        'x-github-api-version': '2022-11-28',
        'user-agent': 'codeshare',
      },
      signal: AbortSignal.timeout(GITHUB_TIMEOUT_MS),
    });
  } catch (err) {
    throw errors.githubUnavailable(`Could not reach GitHub to check the token: ${err instanceof Error ? err.message : err}`);
  }
  if (response.status === 401 || response.status === 403) {
    throw errors.githubRejected('GitHub did not accept the access token: sign in again');
  }
  if (!response.ok) throw errors.githubUnavailable(`GitHub answered ${response.status} when checking the token`);
  const body = (await response.json().catch(() => null)) as Partial<GithubProfile> | null;
  if (!body || typeof body.id !== 'number' || typeof body.login !== 'string') {
    throw errors.githubUnavailable('GitHub answered /user without an id and login');
  }
  return { id: body.id, login: body.login, name: body.name ?? null, avatar_url: body.avatar_url ?? null };
}
