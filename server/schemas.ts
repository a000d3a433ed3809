// Shapes shared by many routes. Each route declares its own request and response schema
// from these, so validation and serialisation come from one description.
import { Type, type Static, type TSchema } from 'typebox';

export const ErrorResponse = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String() }),
});

export const Username = Type.String({ minLength: 1, maxLength: 39, pattern: '^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9]))*$' });
// Not "." or "..": a project's name is the default folder it is joined or pulled into.
export const ProjectName = Type.String({ minLength: 1, maxLength: 100, pattern: '^(?!\\.\\.?$)[A-Za-z0-9._-]+$' });
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

// Project content and history, as REST serves it (files, activity, sessions, AI, git, blobs).
export const GitSha = Type.String({ pattern: '^[0-9a-f]{40}$', description: 'a commit id, 40 lowercase hex digits' });
export const FileKindSchema = Type.Union([Type.Literal('text'), Type.Literal('binary'), Type.Literal('symlink')]);
export const FileActionSchema = Type.Union([
  Type.Literal('created'),
  Type.Literal('edited'),
  Type.Literal('renamed'),
  Type.Literal('deleted'),
]);
export const MessageStatusSchema = Type.Union([
  Type.Literal('complete'),
  Type.Literal('streaming'),
  Type.Literal('interrupted'),
  Type.Literal('failed'),
]);
const Nullable = <T extends TSchema>(item: T) => Type.Union([item, Type.Null()]);

export const ProjectFileSchema = Type.Object({
  path: Type.String(),
  fileId: Type.String(),
  kind: FileKindSchema,
  mode: Type.Integer(),
  size: Type.Integer(),
  sha256: Nullable(Type.String()),
  target: Nullable(Type.String({ description: 'where a symlink points' })),
  updatedAt: DateTime,
  updatedBy: Nullable(Type.String({ description: 'username' })),
});
export type ProjectFileDto = Static<typeof ProjectFileSchema>;

export const FileActivitySchema = Type.Object({
  id: Type.Integer(),
  fileId: Type.String(),
  path: Type.String(),
  oldPath: Nullable(Type.String()),
  action: FileActionSchema,
  user: Nullable(Type.String({ description: 'username' })),
  linesAdded: Type.Integer(),
  linesRemoved: Type.Integer(),
  createdAt: DateTime,
});
export type FileActivityDto = Static<typeof FileActivitySchema>;

export const SessionParticipantSchema = Type.Object({
  username: Type.String(),
  client: Type.String(),
  joinedAt: DateTime,
  leftAt: Nullable(DateTime),
});
export const CollaborationSessionSchema = Type.Object({
  id: Type.String(),
  startedAt: DateTime,
  endedAt: Nullable(DateTime),
  participants: Type.Array(SessionParticipantSchema),
});
export type CollaborationSessionDto = Static<typeof CollaborationSessionSchema>;

export const AiChatSessionSchema = Type.Object({
  id: Type.String(),
  title: Type.String(),
  createdBy: Nullable(Type.String({ description: 'username' })),
  createdAt: DateTime,
  updatedAt: DateTime,
});
export type AiChatSessionDto = Static<typeof AiChatSessionSchema>;

export const AiMessageSchema = Type.Object({
  id: Type.Integer(),
  role: Type.Union([Type.Literal('user'), Type.Literal('assistant')]),
  content: Type.String(),
  user: Nullable(Type.String({ description: 'username of who asked' })),
  model: Nullable(Type.String()),
  filesUsed: Type.Array(Type.String()),
  promptTokens: Nullable(Type.Integer()),
  completionTokens: Nullable(Type.Integer()),
  status: MessageStatusSchema,
  createdAt: DateTime,
});
export type AiMessageDto = Static<typeof AiMessageSchema>;

export const GitRepositorySchema = Type.Object({
  remoteUrl: Nullable(Type.String()),
  defaultBranch: Nullable(Type.String()),
  headSha: Nullable(GitSha),
  updatedAt: DateTime,
});
export type GitRepositoryDto = Static<typeof GitRepositorySchema>;

export const GitCommitSchema = Type.Object({
  sha: GitSha,
  message: Type.String(),
  authorName: Type.String(),
  authorEmail: Nullable(Type.String()),
  branch: Nullable(Type.String()),
  committedAt: DateTime,
  recordedBy: Nullable(Type.String({ description: 'username' })),
});
export type GitCommitDto = Static<typeof GitCommitSchema>;

export const BlobSchema = Type.Object({ sha256: Sha256, size: Type.Integer() });
