// The few REST calls the daemon makes: projects, files, blobs, git metadata.
import type { ProjectFile } from '../common/project-file.js';
export class ProjectApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code?: string,
  ) {
    super(message);
  }
}

export class ProjectApi {
  constructor(
    private readonly serverUrl: string,
    private readonly token: string,
  ) {}

  private async request(method: string, path: string, body?: unknown, raw?: Uint8Array): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}` };
    let payload: string | Uint8Array | undefined;
    if (raw) {
      headers['content-type'] = 'application/octet-stream';
      payload = raw;
    } else if (body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    const response = await fetch(this.serverUrl.replace(/\/+$/, '') + path, { method, headers, body: payload });
    if (!response.ok) {
      const error = (await response.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
      throw new ProjectApiError(error?.error?.message ?? `${method} ${path} answered ${response.status}`, response.status, error?.error?.code);
    }
    return response;
  }

  async createProject(name: string, visibility: 'private' | 'public'): Promise<{ id: string; fullName: string }> {
    return (await this.request('POST', '/api/projects', { name, visibility })).json() as Promise<{ id: string; fullName: string }>;
  }

  async getProject(ref: string): Promise<{ id: string; fullName: string; role: string | null }> {
    return (await this.request('GET', `/api/projects/${encodeURIComponent(ref)}`)).json() as Promise<{
      id: string;
      fullName: string;
      role: string | null;
    }>;
  }

  /** Every file of the project as the server last stored it, by path. */
  async listFiles(projectId: string): Promise<Map<string, ProjectFile>> {
    const files = new Map<string, ProjectFile>();
    let cursor: string | null = null;
    do {
      const query: string = `limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const page = (await (await this.request('GET', `/api/projects/${projectId}/files?${query}`)).json()) as {
        items: ProjectFile[];
        nextCursor: string | null;
      };
      for (const item of page.items) files.set(item.path, item);
      cursor = page.nextCursor;
    } while (cursor);
    return files;
  }

  async uploadBlob(projectId: string, sha256: string, bytes: Uint8Array): Promise<void> {
    await this.request('PUT', `/api/projects/${projectId}/blobs/${sha256}`, undefined, bytes);
  }

  async downloadBlob(projectId: string, sha256: string): Promise<Uint8Array> {
    const response = await this.request('GET', `/api/projects/${projectId}/blobs/${sha256}`);
    return new Uint8Array(await response.arrayBuffer());
  }

  async putGitRepository(projectId: string, repo: { remoteUrl: string | null; defaultBranch: string | null; headSha: string | null }): Promise<void> {
    await this.request('PUT', `/api/projects/${projectId}/git`, repo);
  }

  async recordCommits(
    projectId: string,
    commits: { sha: string; message: string; authorName: string; authorEmail?: string; branch?: string; committedAt: string }[],
  ): Promise<void> {
    if (commits.length > 0) await this.request('POST', `/api/projects/${projectId}/git/commits`, { commits });
  }
}
