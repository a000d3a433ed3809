// The few REST calls the daemon makes: projects, files, blobs, git metadata, on the shared
// transport (common/http-client.ts). A refusal is an HttpError whose message is the server's own
// (or "METHOD PATH answered STATUS"); callers branch on its status.
import type { ProjectFile } from '../common/project-file.js';
import { HttpClient, HttpError, TRANSFER_TIMEOUT_MS } from '../common/http-client.js';

/** The daemon's name for the transport's error: `err instanceof ProjectApiError && err.status === 404`. */
export const ProjectApiError = HttpError;
export type ProjectApiError = HttpError;

export class ProjectApi {
  private readonly http: HttpClient;

  constructor(serverUrl: string, token: string) {
    this.http = new HttpClient(serverUrl, token);
  }

  createProject(name: string, visibility: 'private' | 'public'): Promise<{ id: string; fullName: string }> {
    return this.http.json('POST', '/api/projects', { body: { name, visibility } });
  }

  getProject(ref: string): Promise<{ id: string; fullName: string; role: string | null }> {
    return this.http.json('GET', `/api/projects/${encodeURIComponent(ref)}`);
  }

  /** Every file of the project as the server last stored it, by path. */
  async listFiles(projectId: string): Promise<Map<string, ProjectFile>> {
    const items = await this.http.all<ProjectFile>(`/api/projects/${projectId}/files`);
    return new Map(items.map((item) => [item.path, item]));
  }

  async uploadBlob(projectId: string, sha256: string, bytes: Uint8Array): Promise<void> {
    await this.http.send('PUT', `/api/projects/${projectId}/blobs/${sha256}`, { bytes, timeoutMs: TRANSFER_TIMEOUT_MS });
  }

  /** Many docs' updates in one body (common/doc-updates.ts), stored; the project feed's position then. */
  async storeUpdates(projectId: string, body: Uint8Array): Promise<number> {
    const answer = await this.http.json<{ position: number }>('POST', `/api/projects/${projectId}/updates`, { bytes: body, timeoutMs: TRANSFER_TIMEOUT_MS });
    return answer.position;
  }

  async downloadBlob(projectId: string, sha256: string): Promise<Uint8Array> {
    const bytes = await this.http.bytes('GET', `/api/projects/${projectId}/blobs/${sha256}`);
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  async putGitRepository(projectId: string, repo: { remoteUrl: string | null; defaultBranch: string | null; headSha: string | null }): Promise<void> {
    await this.http.send('PUT', `/api/projects/${projectId}/git`, { body: repo });
  }

  async recordCommits(
    projectId: string,
    commits: { sha: string; message: string; authorName: string; authorEmail?: string; branch?: string; committedAt: string }[],
  ): Promise<void> {
    if (commits.length > 0) await this.http.send('POST', `/api/projects/${projectId}/git/commits`, { body: { commits } });
  }
}
