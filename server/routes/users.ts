// Who the caller is (/me, with the token they use), and users looked up by name.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { authOf } from '../auth.js';
import { errors } from '../errors.js';
import { findUserByUsername, toUserDto } from '../repos/users.js';
import { UserSchema, errorResponses } from '../schemas.js';

export const userRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/me',
    {
      schema: {
        response: {
          200: Type.Object({
            user: UserSchema,
            token: Type.Object({
              id: Type.String(),
              kind: Type.String(),
              projectId: Type.Union([Type.String(), Type.Null()]),
              role: Type.Union([Type.String(), Type.Null()]),
              expiresAt: Type.Union([Type.String(), Type.Null()]),
            }),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { user, token } = authOf(request);
      return {
        user: toUserDto(user),
        token: {
          id: token.id,
          kind: token.kind,
          projectId: token.project_id,
          role: token.role,
          expiresAt: token.expires_at?.toISOString() ?? null,
        },
      };
    },
  );

  app.get(
    '/users/:username',
    {
      schema: {
        params: Type.Object({ username: Type.String({ minLength: 1, maxLength: 100 }) }),
        response: { 200: UserSchema, ...errorResponses },
      },
    },
    async (request) => {
      authOf(request);
      const user = await findUserByUsername(app.db, request.params.username);
      if (!user) throw errors.userNotFound(request.params.username);
      return toUserDto(user);
    },
  );
};
