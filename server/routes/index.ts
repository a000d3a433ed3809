import type { FastifyInstance } from 'fastify';
import { authRoutes } from './auth.js';
import { memberRoutes } from './members.js';
import { projectRoutes } from './projects.js';
import { tokenRoutes } from './tokens.js';
import { userRoutes } from './users.js';

/** One plugin per feature, all under /api. */
export async function registerRoutes(app: FastifyInstance): Promise<void> {
  await app.register(authRoutes);
  await app.register(userRoutes);
  await app.register(projectRoutes);
  await app.register(memberRoutes);
  await app.register(tokenRoutes);
}
