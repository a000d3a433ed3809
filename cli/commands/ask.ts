// `codeshare ask "question"`: the server picks what of the project to show the model and
// streams the answer back; this prints it as it comes (or, with --json, the whole of it at the
// end). Without --project, the project is the one synced in the current folder.
import { relative, resolve, sep } from 'node:path';
import { decodeSseEvents, type AskEvent, type AskUsage } from '../../common/ai-stream.js';
import { projectPath, type Page } from '../api-client.js';
import { callDaemon, runningDaemon } from '../daemon-session.js';
import { CliError, usageError } from '../errors.js';
import { parseProjectRef } from '../project-ref.js';
import { openServerSession, type ServerSession } from '../server-session.js';
import { isInside } from '../../common/fs-helpers.js';

/** An answer can take minutes; the server ends a stalled one itself. */
const ASK_TIMEOUT_MS = 15 * 60_000;

export interface AskResult {
  sessionId: string;
  answer: string;
  files: string[];
  model: string;
  usage: AskUsage | null;
}

/** A stored message, as GET .../ai/sessions/:sid/messages lists it. */
export interface ChatMessage {
  id: number;
  role: 'user' | 'assistant';
  content: string;
  user: string | null;
  model: string | null;
  filesUsed: string[];
  status: 'complete' | 'streaming' | 'interrupted' | 'failed';
  createdAt: string;
}

export interface AskRequest {
  question: string;
  sessionId?: string | undefined;
  currentFile?: string | undefined;
}

/** What the chat view needs of a project: its history and a way to ask. */
export interface ProjectChat {
  /** How to name the project to the person (owner/name, or the id). */
  project: string;
  history(sessionId: string): Promise<ChatMessage[]>;
  /** Streams one answer into onEvent; throws a CliError when it breaks off. */
  ask(request: AskRequest, onEvent: (event: AskEvent) => void, signal?: AbortSignal): Promise<AskResult>;
}

/** The project a command is about: --project, or the synced folder the command runs in. */
export interface AskTarget {
  session: ServerSession;
  projectId: string;
  /** The synced folder holding the current directory, when that is how the project was found. */
  root: string | null;
}


/** The synced folder that holds `dir` (the innermost, should folders nest), per the running daemon. */
export async function syncedFolderOf(dir: string): Promise<{ root: string; projectId: string; projectName: string; serverUrl: string } | null> {
  const client = await runningDaemon();
  if (!client) return null;
  try {
    const status = await callDaemon(() => client.call('status', {}));
    const inside = status.folders.filter((folder) => isInside(folder.root, dir));
    inside.sort((a, b) => b.root.length - a.root.length);
    return inside[0] ?? null;
  } finally {
    client.close();
  }
}

export async function resolveAskTarget(project: string | undefined, cwd = process.cwd()): Promise<AskTarget> {
  if (project !== undefined) {
    const ref = parseProjectRef(project);
    const session = await openServerSession({ server: ref.server });
    return { session, projectId: await session.projectId(ref), root: null };
  }
  const folder = await syncedFolderOf(resolve(cwd));
  if (!folder) {
    throw usageError('which project? Pass --project owner/name, or run this inside a folder synced with `codeshare share` or `codeshare join`');
  }
  const session = await openServerSession({ server: folder.serverUrl });
  return { session, projectId: folder.projectId, root: folder.root };
}

/** Streams one answer from the server, handing each event to onEvent as it arrives. */
export async function streamAnswer(
  session: ServerSession,
  projectId: string,
  request: AskRequest,
  onEvent: (event: AskEvent) => void = () => {},
  signal?: AbortSignal,
): Promise<AskResult> {
  const response = await session.api.send('POST', projectPath(projectId, '/ai/ask'), { body: request, timeoutMs: ASK_TIMEOUT_MS });
  if (!response.body) throw new CliError(`the server at ${session.server} sent no answer`);
  // Stopping reads no further: the server sees the asker leave and keeps the answer as interrupted.
  const reader = response.body.getReader();
  const stop = () => void reader.cancel().catch(() => undefined);
  if (signal?.aborted) stop();
  signal?.addEventListener('abort', stop, { once: true });
  const chunks = async function* () {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  };
  let result: AskResult | null = null;
  let answer = '';
  try {
    for await (const event of decodeSseEvents(chunks())) {
      onEvent(event);
      switch (event.event) {
        case 'meta':
          result = { sessionId: event.data.sessionId, answer: '', files: event.data.files, model: event.data.model, usage: null };
          break;
        case 'delta':
          answer += event.data.text;
          break;
        case 'done':
          if (!result) throw new CliError(`the server at ${session.server} sent an answer without its beginning`);
          return { ...result, answer, usage: event.data.usage };
        case 'error':
          throw new CliError(event.data.message, 1, event.data.code);
      }
    }
  } catch (err) {
    if (err instanceof CliError) throw err;
    if (signal?.aborted) throw new CliError('stopped before the answer was complete');
    if (err instanceof SyntaxError) throw new CliError(`the server at ${session.server} sent an answer that is not an event stream: is it a codeshare server?`);
    throw new CliError(`the connection to ${session.server} dropped in the middle of the answer: ask again (the partial answer is in the session's history)`);
  } finally {
    signal?.removeEventListener('abort', stop);
  }
  if (signal?.aborted) throw new CliError('stopped before the answer was complete');
  throw new CliError(`the server at ${session.server} ended the answer before it was complete: ask again`);
}

/** `--file` as a path in the project: relative to the synced folder's root when there is one. */
export function projectFilePath(file: string | undefined, root: string | null, cwd = process.cwd()): string | undefined {
  if (file === undefined) return undefined;
  if (root === null) return file.split(sep).join('/').replace(/^\.\//, '');
  const path = relative(root, resolve(cwd, file));
  if (path === '' || path.startsWith('..')) throw usageError(`--file ${file} is not inside the synced folder ${root}`);
  return path.split(sep).join('/');
}

export interface AskCommandOptions {
  project?: string;
  session?: string;
  file?: string;
  json?: boolean;
  /** Where the answer's text goes as it arrives (stdout; not used with --json). */
  write?: (text: string) => void;
}

export async function ask(question: string, options: AskCommandOptions): Promise<AskResult> {
  if (question.trim() === '') throw usageError('the question is empty: codeshare ask "how does sync work?"');
  const target = await resolveAskTarget(options.project);
  const request: AskRequest = { question, sessionId: options.session, currentFile: projectFilePath(options.file, target.root) };
  const write = options.json ? undefined : options.write;
  let endsWithNewline = true;
  try {
    return await streamAnswer(target.session, target.projectId, request, (event) => {
      if (event.event === 'delta' && write) {
        write(event.data.text);
        endsWithNewline = event.data.text.endsWith('\n');
      }
    });
  } finally {
    // The answer is followed by a newline whether it completed or broke off.
    if (write && !endsWithNewline) write('\n');
  }
}

/** After the streamed answer: where it came from and how to follow up (stderr, not the answer). */
export function formatAskNotes(result: AskResult): string[] {
  const lines: string[] = [];
  if (result.files.length > 0) lines.push(`Sources: ${result.files.join(', ')}`);
  lines.push(`Session ${result.sessionId}: ask a follow-up with --session ${result.sessionId}`);
  return lines;
}

/** The project's chat over the API, for the chat view. */
export function projectChat(target: AskTarget, project: string): ProjectChat {
  return {
    project,
    history: async (sessionId) => {
      const messages: ChatMessage[] = [];
      let cursor: string | undefined;
      do {
        const page = await target.session.api.get<Page<ChatMessage>>(projectPath(target.projectId, `/ai/sessions/${encodeURIComponent(sessionId)}/messages`), {
          limit: 200,
          cursor,
        });
        messages.push(...page.items);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      return messages;
    },
    ask: (request, onEvent, signal) => streamAnswer(target.session, target.projectId, request, onEvent, signal),
  };
}
