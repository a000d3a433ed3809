// Asking over HTTP as a client would, and project files put straight into project_files (the
// materialised table the AI reads), for the suites of the AI routes.
import { createHash, randomBytes } from 'node:crypto';
import { decodeSseEvents, type AskEvent } from '../../common/ai-stream.js';
import type { TestServer } from './server.js';
import { projectUrl } from './projects.js';

export interface AskResult {
  status: number;
  contentType: string | null;
  /** The SSE events, when the answer streamed. */
  events: AskEvent[];
  /** The error body, when it did not. */
  json: any;
}

export async function ask(
  server: TestServer,
  token: string,
  project: string,
  body: { question: string; sessionId?: string; currentFile?: string },
  options: { signal?: AbortSignal; onEvent?: (event: AskEvent) => void } = {},
): Promise<AskResult> {
  const response = await fetch(server.url + projectUrl(project, '/ai/ask'), {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: options.signal,
  });
  const contentType = response.headers.get('content-type');
  if (!contentType?.startsWith('text/event-stream')) {
    return { status: response.status, contentType, events: [], json: await response.json() };
  }
  const events: AskEvent[] = [];
  for await (const event of decodeSseEvents(response.body!)) {
    events.push(event);
    options.onEvent?.(event);
  }
  return { status: response.status, contentType, events, json: null };
}

export const answerText = (events: AskEvent[]) =>
  events.flatMap((e) => (e.event === 'delta' ? [e.data.text] : [])).join('');

export const eventNames = (events: AskEvent[]) => [...new Set(events.map((e) => e.event))];

/** Puts a text file into the project's materialised files, as the live rooms would. */
export async function putTextFile(server: TestServer, projectId: string, path: string, content: string, updatedAt = new Date()): Promise<string> {
  const fileId = randomBytes(9).toString('base64url');
  const sha256 = createHash('sha256').update(content).digest('hex');
  await server.app.db
    .insertInto('project_files')
    .values({
      project_id: projectId,
      file_id: fileId,
      path,
      kind: 'text',
      mode: 0o644,
      size: Buffer.byteLength(content),
      sha256,
      target: null,
      content,
      updated_at: updatedAt,
      updated_by: null,
    })
    .execute();
  return fileId;
}

/** A file of `lines` lines of filler that says nothing about anything a test asks. */
export const filler = (topic: string, lines: number) =>
  Array.from({ length: lines }, (_, i) => `// ${topic} note ${i}: nothing to see in this line`).join('\n');
