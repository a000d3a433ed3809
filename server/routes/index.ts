// Every REST feature's plugin, registered under /api. The live routes and the project page
// sit outside /api and are registered by app.ts.
import type { FastifyInstance } from 'fastify';
import { activityRoutes } from './activity.js';
import { aiRoutes } from './ai.js';
import { blobRoutes } from './blobs.js';
import { fileRoutes } from './files.js';
import { gitRoutes } from './git.js';
import { sessionRoutes } from './sessions.js';
import { authRoutes } from './auth.js';
import { memberRoutes } from './members.js';
import { projectRoutes } from './projects.js';
import { tokenRoutes } from './tokens.js';
import { updateRoutes } from './updates.js';
import { userRoutes } from './users.js';

/** One plugin per feature, all under /api. */
export async function registerRoutes(app: FastifyInstance): Promise<void> {
  await app.register(authRoutes);
  await app.register(userRoutes);
  await app.register(projectRoutes);
  await app.register(memberRoutes);
  await app.register(tokenRoutes);
  await app.register(fileRoutes);
  await app.register(activityRoutes);
  await app.register(sessionRoutes);
  await app.register(aiRoutes);
  await app.register(gitRoutes);
  await app.register(blobRoutes);
  await app.register(updateRoutes);
}
