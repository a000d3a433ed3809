// The address `codeshare share` prints (http://host:port/p/owner/name) answers a person who
// opens it in a browser with how to join. It looks nothing up, so it reveals nothing about
// whether a private project exists.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';

export const projectPageRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/p/:owner/:name',
    {
      config: { public: true },
      schema: {
        params: Type.Object({ owner: Type.String({ maxLength: 100 }), name: Type.String({ maxLength: 100 }) }),
        response: { 200: Type.String() },
      },
    },
    async (request, reply) => {
      const { owner, name } = request.params;
      const url = `${request.protocol}://${request.host}/p/${encodeURIComponent(owner)}/${encodeURIComponent(name)}`;
      return reply
        .type('text/plain; charset=utf-8')
        .send(
          `codeshare project ${owner}/${name}\n\nWork on it live from your own folder and editor:\n\n` +
            `  codeshare auth login --server ${request.protocol}://${request.host}\n  codeshare join ${url}\n`,
        );
    },
  );
};
