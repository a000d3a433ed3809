// The server a command talks to and the token it uses, resolved once per command from the
// flags, the environment and the stored credentials (common/credentials.ts).
import { CredentialsFileError, resolveCredentials, type ResolvedCredentials } from '../common/credentials.js';
import { ApiClient, projectPath } from './api-client.js';
import { CliError, usageError } from './errors.js';
import { apiProjectRef, parseProjectRef, type ProjectRef } from './project-ref.js';

/** GET /api/me */
export interface MeResponse {
  user: UserInfo;
  token: { id: string; kind: string; projectId: string | null; role: string | null; expiresAt: string | null };
}

export interface UserInfo {
  id: string;
  username: string;
  displayName: string | null;
  avatarUrl: string | null;
  createdAt: string;
}

export class ServerSession {
  private me: Promise<MeResponse> | undefined;

  constructor(
    readonly credentials: ResolvedCredentials,
    readonly api: ApiClient,
  ) {}

  get server(): string {
    return this.credentials.server;
  }

  /** Who the token belongs to, asked once. */
  whoAmI(): Promise<MeResponse> {
    this.me ??= this.api.get<MeResponse>('/api/me');
    return this.me;
  }

  /** The signed-in user's name; the file knows it, a token from the environment needs a look-up. */
  async username(): Promise<string> {
    return this.credentials.username ?? (await this.whoAmI()).user.username;
  }

  /** The :id the API takes for this project. */
  async projectId(ref: ProjectRef): Promise<string> {
    return apiProjectRef(ref, ref.kind === 'own-name' ? await this.username() : '');
  }
}

export interface OpenSessionOptions {
  /** An explicit server: --server, or the host of a project URL. */
  server?: string | undefined;
  /** Fail before any request when there is no token (every route but sign-in needs one). */
  requireToken?: boolean;
}

export async function openServerSession(options: OpenSessionOptions = {}): Promise<ServerSession> {
  let credentials: ResolvedCredentials;
  try {
    credentials = await resolveCredentials({ server: options.server });
  } catch (err) {
    if (err instanceof CredentialsFileError) throw new CliError(err.message);
    if (err instanceof TypeError) {
      throw usageError(`bad server address: ${err.message}: pass an http(s) URL such as http://127.0.0.1:4455`);
    }
    throw err;
  }
  if (options.requireToken !== false && !credentials.token) {
    throw new CliError(`not signed in to ${credentials.server}: run \`codeshare auth login\` (or set CODESHARE_TOKEN)`);
  }
  return new ServerSession(credentials, new ApiClient(credentials.server, credentials.token, credentials.tokenSource));
}

/** A project as the API describes it (GET /api/projects/:id). */
export interface ProjectInfo {
  id: string;
  name: string;
  fullName: string;
  owner: string;
  visibility: 'private' | 'public';
  role: 'owner' | 'editor' | 'viewer' | null;
  createdAt: string;
  updatedAt: string;
}

/**
 * Opens a session on the project's server (a project URL names it) and looks the project up,
 * so a wrong name fails first, with the project's name in the message.
 */
export async function openProject(input: string): Promise<{ session: ServerSession; project: ProjectInfo }> {
  const ref = parseProjectRef(input);
  const session = await openServerSession({ server: ref.server });
  const project = await session.api.get<ProjectInfo>(projectPath(await session.projectId(ref)));
  return { session, project };
}
