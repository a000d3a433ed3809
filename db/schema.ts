// The one Database interface: each table and its row types. Both drivers return int8 as a
// JavaScript number (see db/open.ts), so sizes and sequence numbers are numbers here.
import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

export type Role = 'owner' | 'editor' | 'viewer';
export type Visibility = 'private' | 'public';
export type FileKind = 'text' | 'binary' | 'symlink';
export type FileAction = 'created' | 'edited' | 'renamed' | 'deleted';
export type MessageStatus = 'complete' | 'streaming' | 'interrupted' | 'failed';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
type Json<T> = ColumnType<T, string, string>;

export interface UsersTable {
  id: string;
  username: string;
  display_name: string | null;
  avatar_url: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface OauthAccountsTable {
  id: string;
  user_id: string;
  provider: string;
  provider_user_id: string;
  provider_login: string;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface ApiTokensTable {
  id: string;
  user_id: string;
  name: string;
  kind: 'session' | 'api';
  token_hash: string;
  project_id: string | null;
  role: Role | null;
  expires_at: NullableTimestamp;
  last_used_at: NullableTimestamp;
  revoked_at: NullableTimestamp;
  created_at: Timestamp;
}

export interface ProjectsTable {
  id: string;
  owner_id: string;
  name: string;
  visibility: Visibility;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface ProjectMembersTable {
  project_id: string;
  user_id: string;
  role: Role;
  created_at: Timestamp;
}

export interface ProjectFilesTable {
  project_id: string;
  file_id: string;
  path: string;
  kind: FileKind;
  mode: number;
  size: number;
  sha256: string | null;
  target: string | null;
  content: string | null;
  updated_at: Timestamp;
  updated_by: string | null;
}

export interface FileActivitiesTable {
  id: Generated<number>;
  project_id: string;
  file_id: string;
  path: string;
  old_path: string | null;
  action: FileAction;
  user_id: string | null;
  lines_added: Generated<number>;
  lines_removed: Generated<number>;
  created_at: Timestamp;
}

export interface CollaborationSessionsTable {
  id: string;
  project_id: string;
  started_at: Timestamp;
  ended_at: NullableTimestamp;
}

export interface SessionParticipantsTable {
  id: string;
  session_id: string;
  user_id: string;
  client: string;
  joined_at: Timestamp;
  left_at: NullableTimestamp;
  /** The server instance the connection was on (null: written before instances were recorded). */
  instance_id: string | null;
}

export interface AiChatSessionsTable {
  id: string;
  project_id: string;
  created_by: string | null;
  title: string;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface AiMessagesTable {
  id: Generated<number>;
  session_id: string;
  role: 'user' | 'assistant';
  content: string;
  user_id: string | null;
  model: string | null;
  files_used: Json<string[]>;
  prompt_tokens: number | null;
  completion_tokens: number | null;
  status: MessageStatus;
  created_at: Timestamp;
}

export interface GitRepositoriesTable {
  project_id: string;
  remote_url: string | null;
  default_branch: string | null;
  head_sha: string | null;
  updated_at: Timestamp;
}

export interface GitCommitsTable {
  project_id: string;
  sha: string;
  message: string;
  author_name: string;
  author_email: string | null;
  branch: string | null;
  committed_at: ColumnType<Date, Date | string, Date | string>;
  recorded_by: string | null;
  created_at: Timestamp;
}

export interface DocUpdatesTable {
  seq: Generated<number>;
  project_id: string;
  doc_name: string;
  update: Uint8Array;
  user_id: string | null;
  created_at: Timestamp;
  /** Dense per project, in commit order: the project feed's position (DESIGN.md, Scale). */
  project_seq: number;
}

export interface DocSnapshotsTable {
  project_id: string;
  doc_name: string;
  state: Uint8Array;
  state_vector: Uint8Array;
  upto_seq: number;
  /** The highest project_seq folded in. */
  upto_project_seq: Generated<number>;
  updated_at: Timestamp;
}

export interface ProjectFeedsTable {
  project_id: string;
  /** The last project_seq handed out. */
  seq: number;
}

export interface BlobsTable {
  project_id: string;
  sha256: string;
  size: number;
  data: Uint8Array;
  created_by: string | null;
  created_at: Timestamp;
}

/** A file the chunk index holds, and the project_files version its chunks were built from. */
export interface ChunkedFilesTable {
  project_id: string;
  file_id: string;
  path: string;
  /** path, hash, size and time of the project_files row, as one string: it moves whenever the file does. */
  version: string;
  chunks: number;
  /** Why the file has no chunks (a lock file, too large), or null. */
  left_out: string | null;
  indexed_at: Timestamp;
}

/** A chunk of lines of an indexed file; its terms are a weighted tsvector (defined names A, path B, text D). */
export interface FileChunksTable {
  project_id: string;
  file_id: string;
  /** 1-based, inclusive. */
  start_line: number;
  end_line: number;
  terms: string;
}

export interface Database {
  users: UsersTable;
  oauth_accounts: OauthAccountsTable;
  api_tokens: ApiTokensTable;
  projects: ProjectsTable;
  project_members: ProjectMembersTable;
  project_files: ProjectFilesTable;
  file_activities: FileActivitiesTable;
  collaboration_sessions: CollaborationSessionsTable;
  session_participants: SessionParticipantsTable;
  ai_chat_sessions: AiChatSessionsTable;
  ai_messages: AiMessagesTable;
  git_repositories: GitRepositoriesTable;
  git_commits: GitCommitsTable;
  doc_updates: DocUpdatesTable;
  doc_snapshots: DocSnapshotsTable;
  project_feeds: ProjectFeedsTable;
  blobs: BlobsTable;
  chunked_files: ChunkedFilesTable;
  file_chunks: FileChunksTable;
}

export type User = Selectable<UsersTable>;
export type NewUser = Insertable<UsersTable>;
export type UserUpdate = Updateable<UsersTable>;
export type ApiToken = Selectable<ApiTokensTable>;
export type Project = Selectable<ProjectsTable>;
export type ProjectMember = Selectable<ProjectMembersTable>;
export type ProjectFile = Selectable<ProjectFilesTable>;
export type FileActivity = Selectable<FileActivitiesTable>;
export type CollaborationSession = Selectable<CollaborationSessionsTable>;
export type SessionParticipant = Selectable<SessionParticipantsTable>;
export type AiChatSession = Selectable<AiChatSessionsTable>;
export type AiMessage = Selectable<AiMessagesTable>;
export type GitRepository = Selectable<GitRepositoriesTable>;
export type GitCommit = Selectable<GitCommitsTable>;
export type DocSnapshot = Selectable<DocSnapshotsTable>;
