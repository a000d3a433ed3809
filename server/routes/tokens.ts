// API tokens: secrets a user creates for CI and scripts, optionally limited to one project
// and a role. The secret is shown once, at creation; only its hash is stored.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { projectAccess, roleAtLeast } from '../access.js';
import { authOf, requireAccountToken } from '../auth.js';
import { errors } from '../errors.js';
import { DEFAULT_PAGE_SIZE, decodeCursor, toPage } from '../pagination.js';
import { issueToken, listUserTokens, revokeUserToken, toApiTokenDto, type TokenCursor } from '../repos/tokens.js';
import { ApiTokenSchema, DateTime, Page, PageQuery, RoleSchema, errorResponses } from '../schemas.js';

const DAY_MS = 24 * 60 * 60 * 1000;
/** Ten years: far enough for any pipeline, near enough that a forgotten token still dies. */
const MAX_EXPIRY_DAYS = 3650;

// A strict pattern rather than format 'uuid', which also accepts a urn:uuid: prefix that
// Postgres would refuse with a 500.
const UUID_PATTERN = '^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$';
const UUID = new RegExp(UUID_PATTERN);
const TokenParams = Type.Object({ id: Type.String({ pattern: UUID_PATTERN }) });

const CreateTokenBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100, pattern: '\\S' }),
    projectId: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'a project id or owner/name' })),
    role: Type.Optional(RoleSchema),
    expiresInDays: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_EXPIRY_DAYS })),
    expiresAt: Type.Optional(DateTime),
  },
  { additionalProperties: false },
);

export const tokenRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/tokens',
    {
      schema: {
        body: CreateTokenBody,
        response: {
          201: Type.Object({
            token: Type.String({ description: 'the secret; it is never shown again' }),
            apiToken: ApiTokenSchema,
          }),
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      // A project token that could mint tokens would escape its own project and role.
      const auth = requireAccountToken(request);
      const body = request.body;
      if (body.role && !body.projectId) {
        throw errors.badRequest('A role limits a token within a project: pass projectId as well');
      }
      const expiresAt = expiryOf(body.expiresInDays, body.expiresAt);

      let project: { id: string; fullName: string } | null = null;
      if (body.projectId) {
        const access = await projectAccess(app.db, auth, body.projectId);
        if (!access.role) throw errors.forbidden('Only members of a project can create tokens for it');
        if (body.role && !roleAtLeast(access.role, body.role)) {
          throw errors.forbidden(`A token cannot do more than you: your role in the project is ${access.role}`);
        }
        project = { id: access.project.id, fullName: `${access.ownerUsername}/${access.project.name}` };
      }

      const { token, row } = await issueToken(app.db, {
        userId: auth.user.id,
        name: body.name,
        kind: 'api',
        projectId: project?.id ?? null,
        role: body.role ?? null,
        expiresAt,
      });
      const { token_hash: _hash, ...listed } = row;
      return reply
        .status(201)
        .send({ token, apiToken: toApiTokenDto({ ...listed, project_full_name: project?.fullName ?? null }) });
    },
  );

  app.get(
    '/tokens',
    { schema: { querystring: PageQuery, response: { 200: Page(ApiTokenSchema), ...errorResponses } } },
    async (request) => {
      const { user } = requireAccountToken(request);
      const limit = request.query.limit ?? DEFAULT_PAGE_SIZE;
      const after = decodeCursor(request.query.cursor, 2);
      const rows = await listUserTokens(app.db, user.id, limit, after && tokenCursorOf(after));
      const page = toPage(rows, limit, (r) => [r.cursor.createdUs, r.cursor.id]);
      return { items: page.items.map(({ cursor: _cursor, ...token }) => toApiTokenDto(token)), nextCursor: page.nextCursor };
    },
  );

  app.delete(
    '/tokens/:id',
    { schema: { params: TokenParams, response: { 204: Type.Null(), ...errorResponses } } },
    async (request, reply) => {
      const auth = authOf(request);
      // Any token may revoke itself (a CI job signing out); only account tokens manage others.
      if (auth.token.project_id && auth.token.id !== request.params.id.toLowerCase()) throw errors.tokenScope();
      const revoked = await revokeUserToken(app.db, auth.user.id, request.params.id.toLowerCase());
      if (!revoked) throw errors.tokenNotFound();
      app.live.dropAccess({ tokenId: request.params.id.toLowerCase() });
      return reply.status(204).send(null);
    },
  );
};

function expiryOf(inDays: number | undefined, at: string | undefined): Date | null {
  if (inDays !== undefined && at !== undefined) {
    throw errors.badRequest('Pass expiresInDays or expiresAt, not both');
  }
  if (inDays !== undefined) return new Date(Date.now() + inDays * DAY_MS);
  if (at === undefined) return null;
  const date = new Date(at);
  if (date.getTime() <= Date.now()) throw errors.badRequest('expiresAt is in the past: pass a future date-time');
  if (date.getTime() > Date.now() + MAX_EXPIRY_DAYS * DAY_MS) {
    throw errors.badRequest(`expiresAt is too far away: at most ${MAX_EXPIRY_DAYS} days from now`);
  }
  return date;
}

/** A cursor is opaque but client-held: a forged one must give 400, not a database error. */
function tokenCursorOf([createdUs, id]: (string | number)[]): TokenCursor {
  if (typeof createdUs !== 'number' || !Number.isSafeInteger(createdUs) || typeof id !== 'string' || !UUID.test(id)) {
    throw errors.badRequest('Invalid cursor: pass back the nextCursor of a previous page');
  }
  return { createdUs, id };
}
