// The interactive live view of `share` and `join`: the daemon's events through the reducer
// into the view; q detaches (the daemon keeps syncing), l leaves the folder, a opens the chat
// about the project (Esc comes back).
import { render, useApp, useInput } from 'ink';
import { useEffect, useReducer, useState } from 'react';
import type { FolderEvent } from '../../common/control-protocol.js';
import { connectFolderChat } from '../commands/chat.js';
import { ChatApp } from './chat-app.js';
import { LiveView } from './components/live-view.js';
import { useFolderStatus } from './hooks/use-folder-status.js';
import { initialLiveState, liveReducer, type LiveAction } from './state/live-reducer.js';

export interface LiveAppProps {
  root: string;
  me: string;
  /** Starts sharing or joining; events arrive through onEvent meanwhile. */
  start(onEvent: (event: FolderEvent) => void): Promise<{ project: string; joinCommand: string; root: string }>;
  leave(): Promise<void>;
}

function LiveApp({ root, me, start, leave }: LiveAppProps) {
  const { exit } = useApp();
  const [state, dispatch] = useReducer(liveReducer, root, initialLiveState);
  const ready = state.project !== null;
  const [chatOpen, setChatOpen] = useState(false);
  useFolderStatus(state.root, ready, me, dispatch);

  useEffect(() => {
    start((event) => dispatch({ type: 'event', event, me })).then(
      (result) => dispatch({ type: 'ready', ...result }),
      (err: unknown) => {
        dispatch({ type: 'failed', message: err instanceof Error ? err.message : String(err) });
        setTimeout(() => exit(err instanceof Error ? err : new Error(String(err))), 50);
      },
    );
  }, []);

  useInput((input) => {
    if (input === 'a' && state.status) setChatOpen(true);
    if (input === 'q') exit();
    if (input === 'l') {
      leave().then(
        () => exit(),
        (err: unknown) => dispatch({ type: 'failed', message: (err as Error).message }),
      );
    }
  }, { isActive: !chatOpen });

  const folder = state.status;
  if (chatOpen && folder) {
    return <ChatApp project={folder.projectName} connect={() => connectFolderChat(folder)} onClose={() => setChatOpen(false)} />;
  }
  return <LiveView state={state} />;
}

export async function runLiveApp(props: LiveAppProps): Promise<void> {
  const app = render(<LiveApp {...props} />, { exitOnCtrlC: true });
  await app.waitUntilExit();
}

export type { LiveAction };
