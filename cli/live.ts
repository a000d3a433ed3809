// share and join: on a terminal the live Ink view (q detaches, l leaves); elsewhere (CI too) plain lines,
// returning once the folder is live.
import { resolve } from 'node:path';
import type { FolderEvent } from '../common/control-protocol.js';
import { emit, interactiveTerminal, progressLine } from './output.js';

export async function runLive<T extends { root: string; project: string; joinCommand: string }>(
  dir: string | null | undefined,
  json: boolean | undefined,
  start: (onEvent?: (event: FolderEvent) => void) => Promise<T>,
  format: (result: T) => string[],
): Promise<void> {
  const interactive = interactiveTerminal() && !json;
  if (!interactive) {
    const progress = json ? undefined : progressLine('syncing');
    const result = await start(
      progress ? (event) => event.type === 'progress' && progress.update(event.done, event.total) : undefined,
    ).finally(() => progress?.done());
    emit(result, json, format);
    return;
  }
  const { runLiveApp } = await import('./ui/live-app.js');
  const { openServerSession } = await import('./server-session.js');
  const { leave } = await import('./commands/leave.js');
  const me = await (await openServerSession()).username().catch(() => 'you');
  let root = dir ? resolve(dir) : resolve('.');
  await runLiveApp({
    root,
    me,
    start: async (onEvent) => {
      const result = await start(onEvent);
      root = result.root;
      return { project: result.project, joinCommand: result.joinCommand, root: result.root };
    },
    leave: async () => {
      await leave(root);
    },
  });
}
