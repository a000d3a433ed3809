// The project's git state over REST: members' daemons report the remote, branch and head and
// the commits they see; anyone who can read the project reads them back.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type, type TSchema } from 'typebox';
import { projectAccess } from '../access.js';
import { authOf } from '../auth.js';
import { errors } from '../errors.js';
import { DEFAULT_PAGE_SIZE } from '../pagination.js';
import { findGitRepository, listGitCommits, putGitRepository, recordGitCommits, toGitRepositoryDto } from '../repos/git.js';
import { decodeKey, isExactTime, isText } from '../repos/keyset.js';
import {
  DateTime,
  GitCommitSchema,
  GitRepositorySchema,
  GitSha,
  Page,
  PageQuery,
  ProjectParams,
  errorResponses,
} from '../schemas.js';

/** The most commits one request may record; a daemon sends a long history in batches. */
export const MAX_COMMITS_PER_REQUEST = 500;

const OptionalNullable = <T extends TSchema>(item: T) => Type.Optional(Type.Union([item, Type.Null()]));
const BranchName = Type.String({ minLength: 1, maxLength: 255 });

export const gitRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/projects/:id/git',
    { schema: { params: ProjectParams, response: { 200: GitRepositorySchema, ...errorResponses } } },
    async (request) => {
      const { project } = await projectAccess(app.db, authOf(request), request.params.id);
      const repository = await findGitRepository(app.db, project.id);
      if (!repository) throw errors.gitNotFound();
      return toGitRepositoryDto(repository);
    },
  );

  app.put(
    '/projects/:id/git',
    {
      schema: {
        params: ProjectParams,
        body: Type.Object(
          {
            remoteUrl: OptionalNullable(Type.String({ minLength: 1, maxLength: 2000 })),
            defaultBranch: OptionalNullable(BranchName),
            headSha: OptionalNullable(GitSha),
          },
          { additionalProperties: false },
        ),
        response: { 200: GitRepositorySchema, ...errorResponses },
      },
    },
    async (request) => {
      const { project } = await projectAccess(app.db, authOf(request), request.params.id, 'editor');
      return toGitRepositoryDto(await putGitRepository(app.db, project.id, request.body));
    },
  );

  app.get(
    '/projects/:id/git/commits',
    {
      schema: {
        params: ProjectParams,
        querystring: Type.Intersect([PageQuery, Type.Object({ branch: Type.Optional(BranchName) })]),
        response: { 200: Page(GitCommitSchema), ...errorResponses },
      },
    },
    async (request) => {
      const { project } = await projectAccess(app.db, authOf(request), request.params.id);
      return listGitCommits(app.db, project.id, {
        limit: request.query.limit ?? DEFAULT_PAGE_SIZE,
        before: decodeKey<[string, string]>(request.query.cursor, isExactTime, isText),
        branch: request.query.branch,
      });
    },
  );

  app.post(
    '/projects/:id/git/commits',
    {
      schema: {
        params: ProjectParams,
        body: Type.Object(
          {
            commits: Type.Array(
              Type.Object(
                {
                  sha: GitSha,
                  message: Type.String({ maxLength: 65536 }),
                  authorName: Type.String({ minLength: 1, maxLength: 500 }),
                  authorEmail: OptionalNullable(Type.String({ maxLength: 500 })),
                  branch: OptionalNullable(BranchName),
                  committedAt: DateTime,
                },
                { additionalProperties: false },
              ),
              { maxItems: MAX_COMMITS_PER_REQUEST },
            ),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ recorded: Type.Integer({ description: 'how many commits were new' }) }), ...errorResponses },
      },
    },
    async (request) => {
      const auth = authOf(request);
      const { project } = await projectAccess(app.db, auth, request.params.id, 'editor');
      return { recorded: await recordGitCommits(app.db, project.id, auth.user.id, request.body.commits) };
    },
  );
};
