// Who is calling: every request outside config.public carries a bearer token, resolved here
// once into request.auth. Tokens may also arrive as ?token= (browsers cannot set headers on
// a WebSocket); the logger's serializer redacts it.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { ApiToken, User } from '../db/schema.js';
import { errors } from './errors.js';
import { findActiveToken, touchToken } from './repos/tokens.js';

export interface AuthContext {
  user: User;
  token: ApiToken;
}

declare module 'fastify' {
  interface FastifyRequest {
    auth: AuthContext | null;
  }
  interface FastifyContextConfig {
    /** Reachable without a token (sign-in, health). */
    public?: boolean;
  }
}

export function tokenFromRequest(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return match?.[1] ?? '';
  }
  const query = request.query as Record<string, unknown> | undefined;
  return typeof query?.token === 'string' ? query.token : undefined;
}

/** The caller, or a 401 when the route was reached without a valid token. */
export function authOf(request: FastifyRequest): AuthContext {
  if (!request.auth) throw errors.unauthorized();
  return request.auth;
}

/** Routes outside a project refuse tokens scoped to one project. */
export function requireAccountToken(request: FastifyRequest): AuthContext {
  const auth = authOf(request);
  if (auth.token.project_id) throw errors.tokenScope();
  return auth;
}

export async function authenticate(app: FastifyInstance, token: string | undefined): Promise<AuthContext> {
  if (token === undefined) throw errors.unauthorized();
  const found = await findActiveToken(app.db, token);
  if (!found) throw errors.invalidToken();
  await touchToken(app.db, found.token);
  return found;
}

export const authPlugin = fp(async (app: FastifyInstance) => {
  app.decorateRequest('auth', null);
  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.config.public) return;
    // Unknown routes answer 404 whatever the token; the not-found handler does that.
    if (!request.routeOptions.url) return;
    request.auth = await authenticate(app, tokenFromRequest(request));
  });
});
