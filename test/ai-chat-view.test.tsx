// The chat view: the reducer over history and answer events, and what the view shows for it.
import { render } from 'ink-testing-library';
import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '../cli/commands/ask.js';
import { ChatView } from '../cli/ui/components/chat-view.js';
import { chatReducer, initialChatState, type ChatAction, type ChatState } from '../cli/ui/state/chat-reducer.js';

const message = (id: number, role: 'user' | 'assistant', content: string, extra: Partial<ChatMessage> = {}): ChatMessage => ({
  id,
  role,
  content,
  user: 'alice',
  model: role === 'assistant' ? 'test-model' : null,
  filesUsed: [],
  status: 'complete',
  createdAt: '2026-01-01T00:00:00.000Z',
  ...extra,
});

const run = (state: ChatState, ...actions: ChatAction[]) => actions.reduce(chatReducer, state);

const view = (state: ChatState) =>
  render(<ChatView project="alice/app" state={state} input="" onInput={() => {}} onSubmit={() => {}} escape="back" />);

describe('the chat view', () => {
  it('shows the session\'s history, with sources', () => {
    const state = run(initialChatState('5b0c6a1e-0000-4000-8000-000000000000'), {
      type: 'history',
      sessionId: '5b0c6a1e-0000-4000-8000-000000000000',
      messages: [
        message(1, 'user', 'Where are retries?'),
        message(2, 'assistant', 'In src/net/retry.ts.', { filesUsed: ['src/net/retry.ts'] }),
        message(3, 'user', 'And the limit?'),
        message(4, 'assistant', 'Five', { status: 'interrupted' }),
      ],
    });
    const frame = view(state).lastFrame() ?? '';
    expect(frame).toContain('ask alice/app · session 5b0c6a1e');
    expect(frame).toContain('you › Where are retries?');
    expect(frame).toContain('In src/net/retry.ts.');
    expect(frame).toContain('sources: src/net/retry.ts');
    expect(frame).toContain('(the answer broke off here)');
    expect(frame).toContain('esc back');
  });

  it('streams an answer into the last turn and ends it on done', () => {
    let state = run(initialChatState(null), { type: 'asked', question: 'What is teal?' });
    expect(view(state).lastFrame()).toContain('thinking…');
    expect(view(state).lastFrame()).toContain('esc stop the answer');
    state = run(
      state,
      { type: 'event', event: { event: 'meta', data: { sessionId: 's-1', messageId: 7, model: 'm', files: ['src/ui/colors.ts'] } } },
      { type: 'event', event: { event: 'delta', data: { text: 'A ' } } },
      { type: 'event', event: { event: 'delta', data: { text: 'colour.' } } },
    );
    expect(state.answering).toBe(true);
    expect(view(state).lastFrame()).toContain('A colour.');
    state = run(state, { type: 'event', event: { event: 'done', data: { messageId: 7, usage: null } } });
    expect(state).toMatchObject({ sessionId: 's-1', answering: false });
    expect(state.turns.at(-1)).toEqual({ role: 'assistant', text: 'A colour.', files: ['src/ui/colors.ts'], status: 'complete' });
  });

  it('shows why an answer broke off, keeping what came', () => {
    const state = run(
      initialChatState(null),
      { type: 'asked', question: 'Why?' },
      { type: 'event', event: { event: 'delta', data: { text: 'Because' } } },
      { type: 'event', event: { event: 'error', data: { code: 'CS_ERR_AI_INTERRUPTED', message: 'The answer broke off: the connection to the AI provider dropped' } } },
    );
    const frame = view(state).lastFrame() ?? '';
    expect(frame).toContain('Because');
    expect(frame).toContain('(the answer broke off here)');
    expect(frame).toContain('! The answer broke off: the connection to the AI provider dropped');
    const failed = run(initialChatState(null), { type: 'asked', question: 'Why?' }, { type: 'failed', message: 'AI answers are not configured on this server' });
    expect(failed.turns.at(-1)?.status).toBe('failed');
    expect(view(failed).lastFrame()).toContain('(no answer)');
  });
});
