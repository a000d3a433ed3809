// Frozen in time: never import application code here, never edit after it has shipped.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('users')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('username', 'text', (c) => c.notNull())
    .addColumn('display_name', 'text')
    .addColumn('avatar_url', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  // Usernames are matched case-insensitively, as GitHub does.
  await sql`create unique index users_username_lower_key on users (lower(username))`.execute(db);

  await db.schema
    .createTable('oauth_accounts')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('provider', 'text', (c) => c.notNull())
    .addColumn('provider_user_id', 'text', (c) => c.notNull())
    .addColumn('provider_login', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('oauth_accounts_provider_user_key', ['provider', 'provider_user_id'])
    .execute();
  await db.schema.createIndex('oauth_accounts_user_idx').on('oauth_accounts').column('user_id').execute();

  await db.schema
    .createTable('projects')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('owner_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('visibility', 'text', (c) => c.notNull().check(sql`visibility in ('private', 'public')`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await sql`create unique index projects_owner_name_key on projects (owner_id, lower(name))`.execute(db);
  await db.schema.createIndex('projects_visibility_idx').on('projects').columns(['visibility', 'created_at', 'id']).execute();

  await db.schema
    .createTable('project_members')
    .addColumn('project_id', 'uuid', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('role', 'text', (c) => c.notNull().check(sql`role in ('owner', 'editor', 'viewer')`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('project_members_pkey', ['project_id', 'user_id'])
    .execute();
  await db.schema.createIndex('project_members_user_idx').on('project_members').column('user_id').execute();

  await db.schema
    .createTable('api_tokens')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('session', 'api')`))
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('project_id', 'uuid', (c) => c.references('projects.id').onDelete('cascade'))
    .addColumn('role', 'text', (c) => c.check(sql`role in ('owner', 'editor', 'viewer')`))
    .addColumn('expires_at', 'timestamptz')
    .addColumn('last_used_at', 'timestamptz')
    .addColumn('revoked_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('api_tokens_user_idx').on('api_tokens').columns(['user_id', 'created_at']).execute();

  await db.schema
    .createTable('project_files')
    .addColumn('project_id', 'uuid', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('file_id', 'text', (c) => c.notNull())
    .addColumn('path', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('text', 'binary', 'symlink')`))
    .addColumn('mode', 'integer', (c) => c.notNull())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('sha256', 'text')
    .addColumn('target', 'text')
    .addColumn('content', 'text')
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_by', 'uuid', (c) => c.references('users.id').onDelete('set null'))
    .addPrimaryKeyConstraint('project_files_pkey', ['project_id', 'file_id'])
    // Deferred, so a batch of renames that swaps paths commits as one consistent state.
    .addUniqueConstraint('project_files_path_key', ['project_id', 'path'], (c) => c.deferrable().initiallyDeferred())
    .execute();

  await db.schema
    .createTable('file_activities')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('project_id', 'uuid', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('file_id', 'text', (c) => c.notNull())
    .addColumn('path', 'text', (c) => c.notNull())
    .addColumn('old_path', 'text')
    .addColumn('action', 'text', (c) =>
      c.notNull().check(sql`action in ('created', 'edited', 'renamed', 'deleted')`),
    )
    .addColumn('user_id', 'uuid', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('lines_added', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('lines_removed', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('file_activities_project_idx').on('file_activities').columns(['project_id', 'id']).execute();

  await db.schema
    .createTable('collaboration_sessions')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('project_id', 'uuid', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('started_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('ended_at', 'timestamptz')
    .execute();
  await db.schema
    .createIndex('collaboration_sessions_project_idx')
    .on('collaboration_sessions')
    .columns(['project_id', 'started_at', 'id'])
    .execute();

  await db.schema
    .createTable('session_participants')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('session_id', 'uuid', (c) =>
      c.notNull().references('collaboration_sessions.id').onDelete('cascade'),
    )
    .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('client', 'text', (c) => c.notNull())
    .addColumn('joined_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('left_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('session_participants_session_idx').on('session_participants').column('session_id').execute();

  await db.schema
    .createTable('ai_chat_sessions')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('project_id', 'uuid', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('created_by', 'uuid', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .createIndex('ai_chat_sessions_project_idx')
    .on('ai_chat_sessions')
    .columns(['project_id', 'created_at', 'id'])
    .execute();

  await db.schema
    .createTable('ai_messages')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('session_id', 'uuid', (c) => c.notNull().references('ai_chat_sessions.id').onDelete('cascade'))
    .addColumn('role', 'text', (c) => c.notNull().check(sql`role in ('user', 'assistant')`))
    .addColumn('content', 'text', (c) => c.notNull())
    .addColumn('user_id', 'uuid', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('model', 'text')
    .addColumn('files_used', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('prompt_tokens', 'integer')
    .addColumn('completion_tokens', 'integer')
    .addColumn('status', 'text', (c) =>
      c.notNull().check(sql`status in ('complete', 'streaming', 'interrupted', 'failed')`),
    )
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('ai_messages_session_idx').on('ai_messages').columns(['session_id', 'id']).execute();

  await db.schema
    .createTable('git_repositories')
    .addColumn('project_id', 'uuid', (c) => c.primaryKey().references('projects.id').onDelete('cascade'))
    .addColumn('remote_url', 'text')
    .addColumn('default_branch', 'text')
    .addColumn('head_sha', 'text')
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('git_commits')
    .addColumn('project_id', 'uuid', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('sha', 'text', (c) => c.notNull())
    .addColumn('message', 'text', (c) => c.notNull())
    .addColumn('author_name', 'text', (c) => c.notNull())
    .addColumn('author_email', 'text')
    .addColumn('branch', 'text')
    .addColumn('committed_at', 'timestamptz', (c) => c.notNull())
    .addColumn('recorded_by', 'uuid', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('git_commits_pkey', ['project_id', 'sha'])
    .execute();
  await db.schema
    .createIndex('git_commits_project_time_idx')
    .on('git_commits')
    .columns(['project_id', 'committed_at', 'sha'])
    .execute();

  // The Yjs update log. A global sequence keeps appends ordered per doc and gives other
  // server instances a position to catch up from.
  await db.schema
    .createTable('doc_updates')
    .addColumn('seq', 'bigserial', (c) => c.primaryKey())
    .addColumn('project_id', 'uuid', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('doc_name', 'text', (c) => c.notNull())
    .addColumn('update', 'bytea', (c) => c.notNull())
    .addColumn('user_id', 'uuid', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('doc_updates_doc_idx').on('doc_updates').columns(['project_id', 'doc_name', 'seq']).execute();

  await db.schema
    .createTable('doc_snapshots')
    .addColumn('project_id', 'uuid', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('doc_name', 'text', (c) => c.notNull())
    .addColumn('state', 'bytea', (c) => c.notNull())
    .addColumn('state_vector', 'bytea', (c) => c.notNull())
    .addColumn('upto_seq', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('doc_snapshots_pkey', ['project_id', 'doc_name'])
    .execute();

  await db.schema
    .createTable('blobs')
    .addColumn('project_id', 'uuid', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('data', 'bytea', (c) => c.notNull())
    .addColumn('created_by', 'uuid', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('blobs_pkey', ['project_id', 'sha256'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of [
    'blobs',
    'doc_snapshots',
    'doc_updates',
    'git_commits',
    'git_repositories',
    'ai_messages',
    'ai_chat_sessions',
    'session_participants',
    'collaboration_sessions',
    'file_activities',
    'project_files',
    'api_tokens',
    'project_members',
    'projects',
    'oauth_accounts',
    'users',
  ]) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
