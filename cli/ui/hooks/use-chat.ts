// The chat's effects: connecting to the project, loading the session's history, and streaming
// each answer into the reducer. An answer in flight can be stopped (the server keeps it as
// interrupted).
import { useCallback, useEffect, useReducer, useRef, useState } from 'react';
import type { ProjectChat } from '../../commands/ask.js';
import { chatReducer, initialChatState, type ChatState } from '../state/chat-reducer.js';

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

export interface UseChat {
  state: ChatState;
  /** The project's name once connected. */
  project: string | null;
  ask(question: string): void;
  /** Stops the answer in flight; false when there was none. */
  stop(): boolean;
}

export function useChat(connect: () => Promise<ProjectChat>, sessionId: string | null): UseChat {
  const [state, dispatch] = useReducer(chatReducer, sessionId, initialChatState);
  const [chat, setChat] = useState<ProjectChat | null>(null);
  const inFlight = useRef<AbortController | null>(null);
  const sessionRef = useRef<string | null>(sessionId);
  sessionRef.current = state.sessionId;

  useEffect(() => {
    let gone = false;
    connect().then(
      async (connected) => {
        if (gone) return;
        setChat(connected);
        if (sessionId) {
          const messages = await connected.history(sessionId);
          if (!gone) dispatch({ type: 'history', sessionId, messages });
        }
      },
      (err: unknown) => !gone && dispatch({ type: 'failed', message: messageOf(err) }),
    ).catch((err: unknown) => !gone && dispatch({ type: 'failed', message: messageOf(err) }));
    return () => {
      gone = true;
      inFlight.current?.abort();
    };
  }, []);

  const ask = useCallback(
    (question: string) => {
      if (!chat || inFlight.current) return;
      const controller = new AbortController();
      inFlight.current = controller;
      dispatch({ type: 'asked', question });
      chat
        .ask({ question, sessionId: sessionRef.current ?? undefined }, (event) => dispatch({ type: 'event', event }), controller.signal)
        .catch((err: unknown) => dispatch({ type: 'failed', message: messageOf(err) }))
        .finally(() => {
          if (inFlight.current === controller) inFlight.current = null;
        });
    },
    [chat],
  );

  const stop = useCallback(() => {
    if (!inFlight.current) return false;
    inFlight.current.abort();
    return true;
  }, []);

  return { state, project: chat?.project ?? null, ask, stop };
}
