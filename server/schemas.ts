// Shapes shared by many routes. Each route declares its own request and response schema
// from these, so validation and serialisation come from one description.
import { Type, type Static, type TSchema } from 'typebox';

export const ErrorResponse = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String() }),
});

export const Username = Type.String({ minLength: 1, maxLength: 39, pattern: '^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9]))*$' });
export const ProjectName = Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9._-]+$' });
export const RoleSchema = Type.Union([Type.Literal('owner'), Type.Literal('editor'), Type.Literal('viewer')]);
export const VisibilitySchema = Type.Union([Type.Literal('private'), Type.Literal('public')]);
export const Sha256 = Type.String({ pattern: '^[0-9a-f]{64}$' });
export const DateTime = Type.String({ format: 'date-time' });

export const UserSchema = Type.Object({
  id: Type.String(),
  username: Type.String(),
  displayName: Type.Union([Type.String(), Type.Null()]),
  avatarUrl: Type.Union([Type.String(), Type.Null()]),
  createdAt: DateTime,
});
export type UserDto = Static<typeof UserSchema>;

export const ProjectSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  fullName: Type.String({ description: 'owner/name' }),
  owner: Type.String({ description: 'the owner\'s username' }),
  visibility: VisibilitySchema,
  role: Type.Union([RoleSchema, Type.Null()], { description: 'the caller\'s role; null on a public project they are not a member of' }),
  createdAt: DateTime,
  updatedAt: DateTime,
});
export type ProjectDto = Static<typeof ProjectSchema>;

/** `:id` is a project id, or `owner/name` (URL-encoded as owner%2Fname). */
export const ProjectParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }) });

export const PageQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })),
  cursor: Type.Optional(Type.String({ maxLength: 1000 })),
});

export const Page = <T extends TSchema>(item: T) =>
  Type.Object({ items: Type.Array(item), nextCursor: Type.Union([Type.String(), Type.Null()]) });

/** The error responses every authenticated route may give. */
export const errorResponses = {
  400: ErrorResponse,
  401: ErrorResponse,
  403: ErrorResponse,
  404: ErrorResponse,
  409: ErrorResponse,
  413: ErrorResponse,
} as const;

export const ApiTokenSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  kind: Type.Union([Type.Literal('session'), Type.Literal('api')]),
  projectId: Type.Union([Type.String(), Type.Null()]),
  project: Type.Union([Type.String(), Type.Null()], { description: 'owner/name of the project the token is limited to' }),
  role: Type.Union([RoleSchema, Type.Null()], {
    description: 'the most the token may do in its project; null acts with the user\'s own role',
  }),
  expiresAt: Type.Union([DateTime, Type.Null()]),
  lastUsedAt: Type.Union([DateTime, Type.Null()]),
  revokedAt: Type.Union([DateTime, Type.Null()]),
  createdAt: DateTime,
});
export type ApiTokenDto = Static<typeof ApiTokenSchema>;

export const MemberSchema = Type.Object({
  username: Type.String(),
  userId: Type.String(),
  role: RoleSchema,
  addedAt: DateTime,
});
export type MemberDto = Static<typeof MemberSchema>;
