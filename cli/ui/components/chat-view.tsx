// The chat view: props in, text out. The conversation (the newest turns that fit), then the
// prompt. The prompt itself is ink-text-input, controlled through props like everything else.
import { Box, Text } from 'ink';
import TextInput from 'ink-text-input';
import type { ChatState, ChatTurn } from '../state/chat-reducer.js';

/** Older turns scroll away; the terminal's own scrollback is not redrawn by Ink. */
export const VISIBLE_TURNS = 12;

function Turn({ turn }: { turn: ChatTurn }) {
  if (turn.role === 'user') {
    return (
      <Text>
        <Text bold color="cyan">
          you ›{' '}
        </Text>
        {turn.text}
      </Text>
    );
  }
  return (
    <Box flexDirection="column" marginBottom={1}>
      <Text>
        {turn.text}
        {turn.status === 'streaming' ? <Text dimColor>▍</Text> : null}
      </Text>
      {turn.status === 'streaming' && turn.text === '' ? <Text dimColor>thinking…</Text> : null}
      {turn.status === 'interrupted' ? <Text color="yellow">(the answer broke off here)</Text> : null}
      {turn.status === 'failed' ? <Text color="red">(no answer)</Text> : null}
      {turn.files.length > 0 ? <Text dimColor>sources: {turn.files.join(', ')}</Text> : null}
    </Box>
  );
}

export interface ChatViewProps {
  project: string;
  state: ChatState;
  input: string;
  onInput(value: string): void;
  onSubmit(value: string): void;
  /** What Esc does here: "back" in the live view, "quit" on its own. */
  escape: string;
}

export function ChatView({ project, state, input, onInput, onSubmit, escape }: ChatViewProps) {
  const turns = state.turns.slice(-VISIBLE_TURNS);
  return (
    <Box flexDirection="column">
      <Text>
        <Text bold>codeshare</Text> · ask {project}
        {state.sessionId ? <Text dimColor> · session {state.sessionId.slice(0, 8)}</Text> : null}
      </Text>
      {state.loading ? <Text dimColor>loading the conversation…</Text> : null}
      {!state.loading && state.turns.length === 0 ? (
        <Text dimColor>Ask anything about the project: the answer draws on its files, recent changes and git state.</Text>
      ) : null}
      {state.turns.length > turns.length ? <Text dimColor>… {state.turns.length - turns.length} earlier messages</Text> : null}
      {turns.map((turn, i) => (
        <Turn key={i} turn={turn} />
      ))}
      {state.error ? <Text color="red">! {state.error}</Text> : null}
      <Box>
        <Text bold color={state.answering ? 'gray' : 'cyan'}>
          ?{' '}
        </Text>
        <TextInput
          value={input}
          onChange={onInput}
          onSubmit={onSubmit}
          focus={!state.answering && !state.loading}
          placeholder={state.answering ? 'answering…' : 'your question'}
        />
      </Box>
      <Text dimColor>enter ask · esc {state.answering ? 'stop the answer' : escape}</Text>
    </Box>
  );
}
