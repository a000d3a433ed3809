import { resolve } from 'node:path';
import type { FolderEvent } from '../../common/control-protocol.js';
import { callDaemon, daemonClient } from '../daemon-session.js';
import { openServerSession } from '../server-session.js';

export interface LiveFolderResult {
  project: string;
  projectId: string;
  root: string;
  server: string;
  files: number;
  /** The command a teammate runs to join. */
  joinCommand: string;
  url: string;
}

export interface ShareOptions {
  dir?: string;
  name?: string;
  visibility?: 'private' | 'public';
  server?: string;
  onEvent?: (event: FolderEvent) => void;
}

export async function share(options: ShareOptions): Promise<LiveFolderResult> {
  const session = await openServerSession({ server: options.server });
  const username = await session.username();
  const root = resolve(options.dir ?? '.');
  const { client } = await daemonClient();
  try {
    if (options.onEvent) {
      client.onEvent(options.onEvent);
      await client.call('subscribe', { root });
    }
    const result = await callDaemon(() =>
      client.call('share', {
        root,
        name: options.name ?? '',
        visibility: options.visibility ?? 'private',
        serverUrl: session.server,
        token: session.credentials.token!,
        username,
      }),
    );
    return liveFolderResult(session.server, result.fullName, result.projectId, root, result.files);
  } finally {
    client.close();
  }
}

export function liveFolderResult(server: string, fullName: string, projectId: string, root: string, files: number): LiveFolderResult {
  const url = `${server}/p/${fullName}`;
  return { project: fullName, projectId, root, server, files, joinCommand: `codeshare join ${url}`, url };
}

export function formatLiveFolder(verb: string) {
  return (result: LiveFolderResult): string[] => [
    `${verb} ${result.root} as ${result.project} (${result.files} files); the daemon keeps it live.`,
    `A teammate joins with: ${result.joinCommand}`,
  ];
}
