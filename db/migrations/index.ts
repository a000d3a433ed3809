// The ordered list of migrations. A static list (rather than a folder scan) works the same
// from TypeScript sources under vitest and from dist/ in production.
import type { Migration } from 'kysely';
import * as initial from './2026_11_25_0001_initial.js';
import * as projectFeed from './2026_12_02_0001_project_feed.js';
import * as fileChunks from './2026_12_03_0001_file_chunks.js';
import * as sessionInstances from './2026_12_04_0001_session_instances.js';

export const migrations: Record<string, Migration> = {
  '2026_11_25_0001_initial': initial,
  '2026_12_02_0001_project_feed': projectFeed,
  '2026_12_03_0001_file_chunks': fileChunks,
  '2026_12_04_0001_session_instances': sessionInstances,
};
