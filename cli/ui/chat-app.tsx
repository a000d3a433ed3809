// The chat: `codeshare chat`, and the `a` key of the live view. Enter asks, Esc stops an answer
// in flight, or else leaves (back to the live view, or out).
import { render, useApp, useInput } from 'ink';
import { useState } from 'react';
import type { ProjectChat } from '../commands/ask.js';
import { ChatView } from './components/chat-view.js';
import { useChat } from './hooks/use-chat.js';

export interface ChatAppProps {
  connect(): Promise<ProjectChat>;
  sessionId?: string | null;
  /** Shown until connected. */
  project: string;
  /** Esc with no answer in flight; without it Esc quits. */
  onClose?: () => void;
}

export function ChatApp({ connect, sessionId = null, project, onClose }: ChatAppProps) {
  const { exit } = useApp();
  const chat = useChat(connect, sessionId);
  const [input, setInput] = useState('');

  useInput((_input, key) => {
    if (!key.escape) return;
    if (chat.stop()) return;
    if (onClose) onClose();
    else exit();
  });

  return (
    <ChatView
      project={chat.project ?? project}
      state={chat.state}
      input={input}
      onInput={setInput}
      onSubmit={(value) => {
        if (value.trim() === '' || chat.state.answering) return;
        setInput('');
        chat.ask(value.trim());
      }}
      escape={onClose ? 'back' : 'quit'}
    />
  );
}

export async function runChatApp(props: ChatAppProps): Promise<void> {
  const app = render(<ChatApp {...props} />, { exitOnCtrlC: true });
  await app.waitUntilExit();
}
