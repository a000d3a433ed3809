// A file of a project as the server last stored it: one row of GET /api/projects/:id/files
// (server/schemas.ts ProjectFileSchema), as the CLI, the daemon and the tests read it.
export interface ProjectFile {
  path: string;
  fileId: string;
  kind: 'text' | 'binary' | 'symlink';
  mode: number;
  size: number;
  sha256: string | null;
  target: string | null;
}
