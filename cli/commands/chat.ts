// `codeshare chat`: the Ink chat view over a project's AI sessions, on a terminal only.
import { projectPath } from '../api-client.js';
import { usageError } from '../errors.js';
import { interactiveTerminal } from '../output.js';
import type { ProjectInfo } from '../server-session.js';
import { projectChat, resolveAskTarget, type ProjectChat } from './ask.js';

export interface ChatOptions {
  project?: string;
  session?: string;
}

/** Connects to the project's chat: finds the project and checks it answers before the view opens. */
export async function connectChat(project: string | undefined): Promise<ProjectChat> {
  const target = await resolveAskTarget(project);
  const info = await target.session.api.get<ProjectInfo>(projectPath(target.projectId));
  return projectChat(target, info.fullName);
}

export async function chat(options: ChatOptions): Promise<void> {
  if (!interactiveTerminal()) {
    throw usageError('`codeshare chat` needs a terminal (outside CI): in scripts use `codeshare ask "question"` (with --session to continue a chat)');
  }
  const connected = await connectChat(options.project);
  const { runChatApp } = await import('../ui/chat-app.js');
  await runChatApp({ connect: async () => connected, project: connected.project, sessionId: options.session ?? null });
}

/** The chat of a synced folder's project (the live view's `a`). */
export async function connectFolderChat(folder: { projectId: string; projectName: string; serverUrl: string; root: string }): Promise<ProjectChat> {
  const { openServerSession } = await import('../server-session.js');
  const session = await openServerSession({ server: folder.serverUrl });
  return projectChat({ session, projectId: folder.projectId, root: folder.root }, folder.projectName);
}
