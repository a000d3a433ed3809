// `codeshare members <project> list|add|remove|role`: who is in a project and with which role.
import { projectPath } from '../api-client.js';
import { usageError } from '../errors.js';
import { formatDay, table } from '../output.js';
import { openProject } from '../server-session.js';

export const ROLES = ['viewer', 'editor', 'owner'] as const;
export type Role = (typeof ROLES)[number];

export type MembersAction =
  | { action: 'list' }
  | { action: 'add'; username: string; role: Role }
  | { action: 'remove'; username: string }
  | { action: 'role'; username: string; role: Role };

export interface Member {
  username: string;
  role: Role;
  addedAt: string;
}

export type MembersResult =
  | { action: 'list'; project: string; members: Member[] }
  | { action: 'add'; project: string; member: Member }
  | { action: 'remove'; project: string; username: string }
  | { action: 'role'; project: string; member: Member };

const isRole = (value: string): value is Role => (ROLES as readonly string[]).includes(value);

function roleArgument(value: string | undefined, what: string): Role {
  if (value === undefined) throw usageError(`${what}: pass a role (${ROLES.join(', ')})`);
  if (!isRole(value)) throw usageError(`${JSON.stringify(value)} is not a role: use one of ${ROLES.join(', ')}`);
  return value;
}

/**
 * Reads `<action> [args...]` after the project. Commander cannot put a positional before
 * subcommands, so the members command takes them as plain arguments and this gives them shape.
 */
export function parseMembersAction(action: string | undefined, args: string[], options: { role?: string }): MembersAction {
  const expectArgs = (count: number, usage: string) => {
    if (args.length !== count) throw usageError(`usage: codeshare members <project> ${usage}`);
  };
  const rejectRoleOption = (name: string) => {
    if (options.role !== undefined) throw usageError(`--role applies to add only; for ${name} use: codeshare members <project> role <username> <role>`);
  };
  switch (action ?? 'list') {
    case 'list':
      expectArgs(0, 'list');
      rejectRoleOption('list');
      return { action: 'list' };
    case 'add':
      expectArgs(1, 'add <username> [--role viewer|editor|owner]');
      return { action: 'add', username: args[0] as string, role: roleArgument(options.role ?? 'editor', 'add') };
    case 'remove':
      expectArgs(1, 'remove <username>');
      rejectRoleOption('remove');
      return { action: 'remove', username: args[0] as string };
    case 'role':
      expectArgs(2, 'role <username> <viewer|editor|owner>');
      rejectRoleOption('role');
      return { action: 'role', username: args[0] as string, role: roleArgument(args[1], 'role') };
    default:
      throw usageError(`unknown members action ${JSON.stringify(action)}: use list, add, remove or role`);
  }
}

const memberOf = (member: Member): Member => ({ username: member.username, role: member.role, addedAt: member.addedAt });

export async function members(projectArg: string, request: MembersAction): Promise<MembersResult> {
  const { session, project } = await openProject(projectArg);
  const path = projectPath(project.id, '/members');
  const name = project.fullName;
  switch (request.action) {
    case 'list': {
      const listed = await session.api.all<Member>(path);
      return { action: 'list', project: name, members: listed.map(memberOf) };
    }
    case 'add': {
      const added = await session.api.post<Member>(path, { username: request.username, role: request.role });
      return { action: 'add', project: name, member: memberOf(added) };
    }
    case 'remove':
      await session.api.delete(`${path}/${encodeURIComponent(request.username)}`);
      return { action: 'remove', project: name, username: request.username };
    case 'role': {
      const changed = await session.api.patch<Member>(`${path}/${encodeURIComponent(request.username)}`, { role: request.role });
      return { action: 'role', project: name, member: memberOf(changed) };
    }
  }
}

export function formatMembers(result: MembersResult): string[] {
  switch (result.action) {
    case 'list':
      return table([['MEMBER', 'ROLE', 'SINCE'], ...result.members.map((m) => [m.username, m.role, formatDay(m.addedAt)])]);
    case 'add':
      return [`Added ${result.member.username} to ${result.project} as ${result.member.role}`];
    case 'remove':
      return [`Removed ${result.username} from ${result.project}`];
    case 'role':
      return [`${result.member.username} is now ${result.member.role} in ${result.project}`];
  }
}
