// `codeshare token create|list|revoke`: API tokens for CI and scripts, optionally limited to
// one project and a role. The secret is shown once, at creation.
import { CliError, isServerError, usageError } from '../errors.js';
import { formatDay, table } from '../output.js';
import { parseProjectRef } from '../project-ref.js';
import { openServerSession } from '../server-session.js';
import type { Role } from './members.js';

export interface TokenSummary {
  id: string;
  name: string;
  kind: 'session' | 'api';
  /** owner/name of the project the token is limited to. */
  project: string | null;
  projectId: string | null;
  /** The most the token may do in its project; null acts with the user's own role. */
  role: Role | null;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
  createdAt: string;
}

export interface TokenCreateOptions {
  name?: string;
  project?: string;
  role?: Role;
  expiresInDays?: number;
}

export interface TokenCreateResult {
  /** The secret: send it as `Authorization: Bearer`, or set CODESHARE_TOKEN. Never shown again. */
  token: string;
  apiToken: TokenSummary;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const tokenSummaryOf = (token: TokenSummary): TokenSummary => ({
  id: token.id,
  name: token.name,
  kind: token.kind,
  project: token.project,
  projectId: token.projectId,
  role: token.role,
  expiresAt: token.expiresAt,
  lastUsedAt: token.lastUsedAt,
  revokedAt: token.revokedAt,
  createdAt: token.createdAt,
});

export async function createToken(options: TokenCreateOptions): Promise<TokenCreateResult> {
  if (options.role && !options.project) throw usageError('--role limits a token within a project: pass --project as well');
  const ref = options.project === undefined ? undefined : parseProjectRef(options.project);
  const session = await openServerSession({ server: ref?.server });
  const name = options.name?.trim() || `token ${new Date().toISOString().slice(0, 16).replace('T', ' ')}`;
  const created = await session.api.post<TokenCreateResult>('/api/tokens', {
    name,
    ...(ref ? { projectId: await session.projectId(ref) } : {}),
    ...(options.role ? { role: options.role } : {}),
    ...(options.expiresInDays !== undefined ? { expiresInDays: options.expiresInDays } : {}),
  });
  return { token: created.token, apiToken: tokenSummaryOf(created.apiToken) };
}

export function formatTokenCreate(result: TokenCreateResult): string[] {
  const t = result.apiToken;
  const scope = t.project ? `limited to ${t.project}${t.role ? ` as ${t.role}` : ''}` : 'with your full access';
  return [
    `Created token "${t.name}" (${t.id}), ${scope}, expires ${t.expiresAt ?? 'never'}.`,
    'Copy the secret now: it is not shown again.',
    '',
    result.token,
  ];
}

export interface TokenListResult {
  tokens: TokenSummary[];
}

export async function listTokens(): Promise<TokenListResult> {
  const session = await openServerSession();
  const tokens = await session.api.all<TokenSummary>('/api/tokens');
  return { tokens: tokens.map(tokenSummaryOf) };
}

function tokenState(token: TokenSummary, now: number): string {
  if (token.revokedAt) return 'revoked';
  if (token.expiresAt && Date.parse(token.expiresAt) <= now) return 'expired';
  return 'active';
}

export function formatTokenList(result: TokenListResult): string[] {
  if (result.tokens.length === 0) return ['No tokens: create one with `codeshare token create`'];
  const now = Date.now();
  return table([
    ['ID', 'NAME', 'KIND', 'PROJECT', 'ROLE', 'STATE', 'EXPIRES', 'LAST USED'],
    ...result.tokens.map((t) => [
      t.id,
      t.name,
      t.kind,
      t.project ?? '-',
      t.role ?? '-',
      tokenState(t, now),
      formatDay(t.expiresAt),
      formatDay(t.lastUsedAt),
    ]),
  ]);
}

export interface TokenRevokeResult {
  revoked: string;
}

export async function revokeToken(id: string): Promise<TokenRevokeResult> {
  if (!UUID.test(id)) throw usageError(`${JSON.stringify(id)} is not a token id: see the ids with \`codeshare token list\``);
  const session = await openServerSession();
  try {
    await session.api.delete(`/api/tokens/${id.toLowerCase()}`);
  } catch (err) {
    if (isServerError(err, 'CS_ERR_TOKEN_NOT_FOUND')) {
      throw new CliError(`no token ${id} among yours: see the ids with \`codeshare token list\``, 1, err.code);
    }
    throw err;
  }
  return { revoked: id.toLowerCase() };
}

export function formatTokenRevoke(result: TokenRevokeResult): string[] {
  return [`Revoked token ${result.revoked}`];
}
