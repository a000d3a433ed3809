// The chat view's state: a pure reducer over the conversation's history and the answer
// stream's events, so the view is a function of what happened and tests need no server.
import type { AskEvent } from '../../../common/ai-stream.js';
import type { ChatMessage } from '../../commands/ask.js';

export interface ChatTurn {
  role: 'user' | 'assistant';
  text: string;
  /** Files the answer drew on. */
  files: string[];
  status: ChatMessage['status'];
}

export interface ChatState {
  sessionId: string | null;
  turns: ChatTurn[];
  /** Loading the session's history. */
  loading: boolean;
  /** An answer is on its way: the prompt waits. */
  answering: boolean;
  error: string | null;
}

export type ChatAction =
  | { type: 'history'; sessionId: string; messages: ChatMessage[] }
  | { type: 'asked'; question: string }
  | { type: 'event'; event: AskEvent }
  | { type: 'failed'; message: string };

export const initialChatState = (sessionId: string | null): ChatState => ({
  sessionId,
  turns: [],
  loading: sessionId !== null,
  answering: false,
  error: null,
});

/** The answer being written is the last turn; events only ever change that one. */
function updateAnswer(state: ChatState, update: (turn: ChatTurn) => ChatTurn): ChatTurn[] {
  const last = state.turns[state.turns.length - 1];
  if (!last || last.role !== 'assistant') return state.turns;
  return [...state.turns.slice(0, -1), update(last)];
}

export function chatReducer(state: ChatState, action: ChatAction): ChatState {
  switch (action.type) {
    case 'history':
      return {
        ...state,
        sessionId: action.sessionId,
        loading: false,
        turns: action.messages.map((m) => ({ role: m.role, text: m.content, files: m.filesUsed, status: m.status })),
      };
    case 'asked':
      return {
        ...state,
        answering: true,
        error: null,
        turns: [
          ...state.turns,
          { role: 'user', text: action.question, files: [], status: 'complete' },
          { role: 'assistant', text: '', files: [], status: 'streaming' },
        ],
      };
    case 'failed':
      return {
        ...state,
        loading: false,
        answering: false,
        error: action.message,
        turns: state.answering ? updateAnswer(state, (t) => ({ ...t, status: t.text === '' ? 'failed' : 'interrupted' })) : state.turns,
      };
    case 'event': {
      const event = action.event;
      switch (event.event) {
        case 'meta':
          return { ...state, sessionId: event.data.sessionId, turns: updateAnswer(state, (t) => ({ ...t, files: event.data.files })) };
        case 'delta':
          return { ...state, turns: updateAnswer(state, (t) => ({ ...t, text: t.text + event.data.text })) };
        case 'done':
          return { ...state, answering: false, turns: updateAnswer(state, (t) => ({ ...t, status: 'complete' })) };
        case 'error':
          return {
            ...state,
            answering: false,
            error: event.data.message,
            turns: updateAnswer(state, (t) => ({ ...t, status: t.text === '' ? 'failed' : 'interrupted' })),
          };
      }
    }
  }
  return state;
}
