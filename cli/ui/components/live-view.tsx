// The live view: props in, text out. It renders the same data `codeshare status --json` prints.
import { Box, Text } from 'ink';
import type { FolderProblem, FolderStatus } from '../../../common/control-protocol.js';
import type { FeedItem, LiveState } from '../state/live-reducer.js';
import { docsInMemory } from '../../../common/wording.js';

export function SyncStateLine({ status }: { status: FolderStatus | null }) {
  if (!status) return <Text color="yellow">◌ starting…</Text>;
  switch (status.state) {
    case 'synced':
      return <Text color="green">● synced</Text>;
    case 'unsaved':
      return <Text color="yellow">◐ {status.unsaved} unsaved</Text>;
    case 'offline':
      return <Text color="red">○ offline, reconnecting (edits are kept and sent when back)</Text>;
    case 'paused':
      return <Text color="magenta">‖ paused: {status.pausedReason}</Text>;
    case 'refused':
      return <Text color="red">✖ the server refused this folder (see `codeshare daemon logs`)</Text>;
    default:
      return <Text>{status.state}</Text>;
  }
}

export function ProgressBar({ done, total, label, width = 30 }: { done: number; total: number; label: string; width?: number }) {
  const ratio = total > 0 ? Math.min(1, done / total) : 0;
  const filled = Math.round(ratio * width);
  return (
    <Text>
      {label} [{'█'.repeat(filled)}
      {'░'.repeat(width - filled)}] {done}/{total}
    </Text>
  );
}

/** Problems spelled out in the live view; the rest are counted. */
export const LIVE_PROBLEMS_SHOWN = 3;

/** What this folder has that teammates do not get; nothing when there is none. */
export function NotSharedSection({ problems }: { problems: readonly FolderProblem[] }) {
  if (problems.length === 0) return null;
  const hidden = problems.length - LIVE_PROBLEMS_SHOWN;
  return (
    <Box flexDirection="column">
      <Text bold color="yellow">
        Not shared ({problems.length})
      </Text>
      {problems.slice(0, LIVE_PROBLEMS_SHOWN).map((problem) => (
        <Text key={problem.path}>
          {'  '}
          {problem.message}
        </Text>
      ))}
      {hidden > 0 ? <Text dimColor>  and {hidden} more (codeshare status --json lists them)</Text> : null}
    </Box>
  );
}

function describe(item: FeedItem): string {
  const lines = item.linesAdded !== undefined ? ` (+${item.linesAdded} -${item.linesRemoved ?? 0})` : '';
  if (item.action === 'renamed' && item.oldPath) return `${item.who} renamed ${item.oldPath} → ${item.path}`;
  return `${item.who} ${item.action} ${item.path}${lines}`;
}

const clock = (at: number) => new Date(at).toTimeString().slice(0, 8);

export function LiveView({ state }: { state: LiveState }) {
  const peers = state.status?.peers ?? [];
  return (
    <Box flexDirection="column">
      <Text>
        <Text bold>codeshare</Text> · {state.project ?? '…'} · {state.root}
      </Text>
      {state.joinCommand ? <Text dimColor>Teammates join with: {state.joinCommand}</Text> : null}
      <SyncStateLine status={state.status} />
      {state.progress ? (
        <ProgressBar label={state.progress.phase === 'upload' ? 'uploading' : 'downloading'} done={state.progress.done} total={state.progress.total} />
      ) : null}
      {state.status?.docs ? (
        <Text dimColor>{docsInMemory(state.status.docs)}</Text>
      ) : null}
      {state.status?.watcher?.problem ? <Text color="red">! not watched: {state.status.watcher.problem}</Text> : null}
      <NotSharedSection problems={state.status?.problems ?? []} />
      <Text bold>Online</Text>
      {peers.length === 0 ? <Text dimColor>  nobody else yet</Text> : null}
      {peers.map((peer) => (
        <Text key={peer.name}>
          {'  '}
          <Text color={peer.color}>{peer.name}</Text>
          {peer.file ? ` · ${peer.file}` : ''}
          {peer.branch ? ` · ${peer.branch}` : ''}
        </Text>
      ))}
      <Text bold>Recent changes</Text>
      {state.feed.length === 0 ? <Text dimColor>  no changes yet</Text> : null}
      {state.feed.map((item, i) => (
        <Text key={`${item.at}-${i}`}>
          {'  '}
          <Text dimColor>{clock(item.at)}</Text> {describe(item)}
        </Text>
      ))}
      {state.errors.map((message, i) => (
        <Text key={`e${i}`} color="red">
          ! {message}
        </Text>
      ))}
      <Text dimColor>q detach (keeps syncing) · l leave this folder · a ask about the project</Text>
    </Box>
  );
}
