// `codeshare projects`: the projects the signed-in user can see (theirs and public ones).
import { formatDay, table } from '../output.js';
import { openServerSession, type ProjectInfo } from '../server-session.js';

export interface ProjectSummary {
  id: string;
  fullName: string;
  name: string;
  owner: string;
  visibility: 'private' | 'public';
  /** The caller's role; null on a public project they are not a member of. */
  role: 'owner' | 'editor' | 'viewer' | null;
  createdAt: string;
  updatedAt: string;
}

export interface ProjectsResult {
  server: string;
  projects: ProjectSummary[];
}

/** Picks the fields the CLI promises, in a fixed order, whatever else the server adds. */
export const projectSummaryOf = (project: ProjectInfo): ProjectSummary => ({
  id: project.id,
  fullName: project.fullName,
  name: project.name,
  owner: project.owner,
  visibility: project.visibility,
  role: project.role,
  createdAt: project.createdAt,
  updatedAt: project.updatedAt,
});

export async function listProjects(options: { server?: string } = {}): Promise<ProjectsResult> {
  const session = await openServerSession({ server: options.server });
  const projects = await session.api.all<ProjectInfo>('/api/projects');
  return { server: session.server, projects: projects.map(projectSummaryOf) };
}

export function formatProjects(result: ProjectsResult): string[] {
  if (result.projects.length === 0) return [`No projects on ${result.server} yet: run \`codeshare share\` in a folder to create one`];
  return table([
    ['PROJECT', 'ROLE', 'VISIBILITY', 'UPDATED', 'ID'],
    ...result.projects.map((p) => [p.fullName, p.role ?? '-', p.visibility, formatDay(p.updatedAt), p.id]),
  ]);
}
