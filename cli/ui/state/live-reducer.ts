// The live view's state: a pure reducer over the daemon's events, so the view is a function of
// what happened, and tests can drive it without a daemon.
import type { FolderEvent, FolderStatus } from '../../../common/control-protocol.js';

export interface FeedItem {
  at: number;
  who: string;
  action: string;
  path: string;
  oldPath?: string;
  linesAdded?: number;
  linesRemoved?: number;
}

export interface LiveState {
  project: string | null;
  root: string;
  joinCommand: string | null;
  status: FolderStatus | null;
  progress: { phase: 'upload' | 'download'; done: number; total: number } | null;
  feed: FeedItem[];
  errors: string[];
  detached: boolean;
}

export type LiveAction =
  | { type: 'ready'; project: string; joinCommand: string; root: string }
  | { type: 'event'; event: FolderEvent; me: string }
  | { type: 'status'; status: FolderStatus }
  | { type: 'failed'; message: string };

export const FEED_LENGTH = 8;

export const initialLiveState = (root: string): LiveState => ({
  project: null,
  root,
  joinCommand: null,
  status: null,
  progress: null,
  feed: [],
  errors: [],
  detached: false,
});

export function liveReducer(state: LiveState, action: LiveAction): LiveState {
  switch (action.type) {
    case 'ready':
      return { ...state, project: action.project, joinCommand: action.joinCommand, root: action.root, progress: null };
    case 'status':
      return { ...state, status: action.status };
    case 'failed':
      return { ...state, errors: [...state.errors, action.message].slice(-3) };
    case 'event': {
      const event = action.event;
      switch (event.type) {
        case 'status':
          return { ...state, status: event.status };
        case 'progress':
          return { ...state, progress: event.done >= event.total ? null : { phase: event.phase, done: event.done, total: event.total } };
        case 'error':
          return { ...state, errors: [...state.errors, event.message].slice(-3) };
        case 'activity': {
          const item: FeedItem = {
            at: Date.now(),
            who: event.direction === 'local' ? action.me : (event.user ?? 'a teammate'),
            action: event.action,
            path: event.path,
            ...(event.oldPath ? { oldPath: event.oldPath } : {}),
            ...(event.linesAdded !== undefined ? { linesAdded: event.linesAdded, linesRemoved: event.linesRemoved ?? 0 } : {}),
          };
          return { ...state, feed: [item, ...state.feed].slice(0, FEED_LENGTH) };
        }
      }
    }
  }
  return state;
}
