// A folder's status as the daemon reports it, for the tests of what the CLI renders from it.
import type { FolderStatus } from '../../common/control-protocol.js';

export const folderStatus = (over: Partial<FolderStatus> = {}): FolderStatus => ({
  root: '/work/app',
  projectId: 'p1',
  projectName: 'alice/app',
  serverUrl: 'http://127.0.0.1:4455',
  state: 'synced',
  unsaved: 0,
  connection: 'online',
  pausedReason: null,
  branch: 'main',
  trackedBranch: 'main',
  files: 3,
  peers: [],
  problems: [],
  halt: null,
  guard: { maxRemovedShare: 0.2, maxRemovedFiles: 200 },
  watcher: { backend: 'native', problem: null },
  ...over,
});
