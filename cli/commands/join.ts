import { existsSync } from 'node:fs';
import { join as joinPath, resolve } from 'node:path';
import type { FolderEvent, JoinReport } from '../../common/control-protocol.js';
import { callDaemon, daemonClient } from '../daemon-session.js';
import { parseProjectRef } from '../project-ref.js';
import { openServerSession } from '../server-session.js';
import { liveFolderResult, type LiveFolderResult } from './share.js';

export interface JoinOptions {
  project: string;
  dir?: string;
  keepLocal?: boolean;
  server?: string;
  onEvent?: (event: FolderEvent) => void;
}

export type JoinResult = LiveFolderResult & { report: JoinReport };

export async function join(options: JoinOptions): Promise<JoinResult> {
  const ref = parseProjectRef(options.project);
  const session = await openServerSession({ server: options.server ?? ref.server });
  const username = await session.username();
  const project = await session.projectId(ref);
  const root = resolve(options.dir ?? defaultFolder(ref.kind === 'id' ? ref.id : ref.name));
  const { client } = await daemonClient();
  try {
    if (options.onEvent) {
      client.onEvent(options.onEvent);
      await client.call('subscribe', { root });
    }
    const result = await callDaemon(() =>
      client.call('join', {
        root,
        project,
        keepLocal: options.keepLocal ?? false,
        serverUrl: session.server,
        token: session.credentials.token!,
        username,
      }),
    );
    return { ...liveFolderResult(session.server, result.fullName, result.projectId, root, result.files), report: result.report };
  } finally {
    client.close();
  }
}

export function formatJoin(result: JoinResult): string[] {
  const { report } = result;
  const lines = [
    `Joined ${result.project} into ${result.root} (${result.files} files); the daemon keeps it live.`,
    `${report.written} written, ${report.kept} already identical, ${report.pushed} local files shared.`,
  ];
  if (report.replaced.length > 0) {
    lines.push(`${report.replaced.length} local files differed and took the project's version; your versions are saved:`);
    for (const { path, backup } of report.replaced) lines.push(`  ${path} -> ${backup}`);
  }
  return lines;
}

/**
 * Without a folder named: this one when it is a clone (the top of a git work tree: teammates
 * join from their clone, as the README says), else a new folder named after the project, as
 * `git clone` makes one. In a clone the project's name as a folder inside it was a second copy
 * of the repository nested in the first.
 */
function defaultFolder(projectName: string, cwd = process.cwd()): string {
  return existsSync(joinPath(cwd, '.git')) ? cwd : resolve(cwd, projectName);
}
