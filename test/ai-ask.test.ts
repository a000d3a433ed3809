// POST /api/projects/:id/ai/ask against an OpenAI-compatible server started by the test: the
// context it chooses, the stream the asker reads, and the history it stores.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverLoggerOptions } from '../server/main.js';
import type { ServerConfig } from '../server/config.js';
import { answerText, ask, filler, putTextFile } from './helpers/ask.js';
import { eventually } from './helpers/eventually.js';
import { startFakeOpenAi, systemMessage, type FakeOpenAi } from './helpers/fake-openai.js';
import { caller, createProject, fetchRaw, projectUrl } from './helpers/projects.js';
import { startServerOn } from './helpers/server-on-storage.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { createTestStorage, STORAGE_KINDS, type TestStorage } from './helpers/storage.js';

const RETRY_TS = [
  "import { sleep } from './sleep.js';",
  '',
  '/** Calls fn until it succeeds; waits twice as long after each failure (RETRY_BODY_MARKER). */',
  'export async function retryWithBackoff<T>(fn: () => Promise<T>, attempts = 5): Promise<T> {',
  '  let delayMs = 100;',
  '  for (let attempt = 1; ; attempt++) {',
  '    try {',
  '      return await fn();',
  '    } catch (err) {',
  '      if (attempt >= attempts) throw err;',
  '      await sleep(delayMs);',
  '      delayMs *= 2;',
  '    }',
  '  }',
  '}',
].join('\n');

const COLORS_TS = [
  '// PALETTE_MARKER: the terminal palette',
  "export const palette = { teal: '#008080', amber: '#ffbf00', slate: '#708090' };",
  'export const accent = (name: keyof typeof palette) => palette[name];',
].join('\n');

describe.each(STORAGE_KINDS)('asking about a project [%s]', (kind) => {
  let fake: FakeOpenAi;
  let server: TestServer;

  beforeAll(async () => {
    fake = await startFakeOpenAi();
    server = await startTestServer(kind, (config) => {
      config.ai = { ...config.ai, baseUrl: fake.baseUrl, apiKey: 'sk-test-key', model: 'test-model' };
    });
  });
  afterAll(async () => {
    await server?.close();
    await fake?.close();
  });

  it('streams an answer grounded in the chunks that match the question, and stores it', async () => {
    const owner = await caller(server, `asker-${kind}`);
    const project = await createProject(server, owner, 'grounded');
    await putTextFile(server, project.id, 'src/net/retry.ts', RETRY_TS);
    await putTextFile(server, project.id, 'src/net/sleep.ts', 'export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));');
    await putTextFile(server, project.id, 'src/ui/colors.ts', COLORS_TS);
    await putTextFile(server, project.id, 'docs/notes.md', filler('gardening', 200));
    fake.script({ kind: 'answer', pieces: ['It doubles ', 'the delay ', 'after each failure', ' (src/net/retry.ts).'], usage: { prompt_tokens: 812, completion_tokens: 17 } });
    const before = fake.requests.length;

    const result = await ask(server, owner.token, project.fullName, { question: 'How does retryWithBackoff decide how long to wait?' });

    expect(result.status).toBe(200);
    expect(result.contentType).toMatch(/^text\/event-stream/);
    const [meta, ...rest] = result.events;
    expect(meta).toEqual({
      event: 'meta',
      data: { sessionId: expect.any(String), messageId: expect.any(Number), model: 'test-model', files: ['src/net/retry.ts'] },
    });
    expect(rest.slice(0, -1).map((e) => e.event)).toEqual(['delta', 'delta', 'delta', 'delta']);
    expect(answerText(result.events)).toBe('It doubles the delay after each failure (src/net/retry.ts).');
    expect(rest.at(-1)).toEqual({ event: 'done', data: { messageId: expect.any(Number), usage: { promptTokens: 812, completionTokens: 17 } } });

    // What the provider was sent: the configured model and key, a stream with usage, the
    // retry code, and nothing of the unrelated files' content.
    expect(fake.requests.length).toBe(before + 1);
    const request = fake.requests.at(-1)!;
    expect(request.headers.authorization).toBe('Bearer sk-test-key');
    expect(request.body).toMatchObject({ model: 'test-model', stream: true, stream_options: { include_usage: true } });
    const context = systemMessage(request);
    expect(context).toContain('RETRY_BODY_MARKER');
    expect(context).toContain('delayMs *= 2;');
    expect(context).toContain('### src/net/retry.ts (lines 1-15)');
    expect(context).not.toContain('PALETTE_MARKER');
    expect(context).not.toContain('gardening note');
    // The tree is there, as paths only.
    expect(context).toContain('src/ui/colors.ts');
    expect(request.body.messages.at(-1)).toEqual({ role: 'user', content: 'How does retryWithBackoff decide how long to wait?' });

    // History: the session, titled by the question, with the question and the answer.
    const sessionId = meta!.event === 'meta' ? meta!.data.sessionId : '';
    const sessions = await owner.api('GET', projectUrl(project.id, '/ai/sessions'));
    expect(sessions.body.items).toEqual([expect.objectContaining({ id: sessionId, title: 'How does retryWithBackoff decide how long to wait?', createdBy: owner.user.username })]);
    const messages = await owner.api('GET', projectUrl(project.id, `/ai/sessions/${sessionId}/messages`));
    expect(messages.body.items).toEqual([
      expect.objectContaining({ role: 'user', content: 'How does retryWithBackoff decide how long to wait?', user: owner.user.username, status: 'complete' }),
      expect.objectContaining({
        role: 'assistant',
        content: 'It doubles the delay after each failure (src/net/retry.ts).',
        user: owner.user.username,
        model: 'test-model',
        filesUsed: ['src/net/retry.ts'],
        promptTokens: 812,
        completionTokens: 17,
        status: 'complete',
      }),
    ]);
  });

  it('continues a session with its earlier turns, and includes the asker\'s current file', async () => {
    const owner = await caller(server, `follow-up-${kind}`);
    const project = await createProject(server, owner, 'follow-up');
    await putTextFile(server, project.id, 'src/net/retry.ts', RETRY_TS);
    await putTextFile(server, project.id, 'src/ui/colors.ts', COLORS_TS);
    fake.script({ kind: 'answer', pieces: ['Five attempts.'] });
    const first = await ask(server, owner.token, project.id, { question: 'How many attempts does retryWithBackoff make?' });
    const sessionId = first.events[0]?.event === 'meta' ? first.events[0].data.sessionId : '';

    fake.script({ kind: 'answer', pieces: ['Teal is #008080.'] });
    const second = await ask(server, owner.token, project.id, { question: 'And which hex is teal?', sessionId, currentFile: 'src/ui/colors.ts' });
    expect(second.events[0]).toMatchObject({ event: 'meta', data: { sessionId, files: ['src/ui/colors.ts'] } });
    expect(answerText(second.events)).toBe('Teal is #008080.');

    const request = fake.requests.at(-1)!;
    expect(request.body.messages.slice(1)).toEqual([
      { role: 'user', content: 'How many attempts does retryWithBackoff make?' },
      { role: 'assistant', content: 'Five attempts.' },
      { role: 'user', content: 'And which hex is teal?' },
    ]);
    expect(systemMessage(request)).toContain("## The asker's current file\n### src/ui/colors.ts (lines 1-3)\n// PALETTE_MARKER");

    const sessions = await owner.api('GET', projectUrl(project.id, '/ai/sessions'));
    expect(sessions.body.items).toHaveLength(1);
    const messages = await owner.api('GET', projectUrl(project.id, `/ai/sessions/${sessionId}/messages`));
    expect(messages.body.items.map((m: any) => [m.role, m.content])).toEqual([
      ['user', 'How many attempts does retryWithBackoff make?'],
      ['assistant', 'Five attempts.'],
      ['user', 'And which hex is teal?'],
      ['assistant', 'Teal is #008080.'],
    ]);
  });

  it('keeps its index current as files are created and deleted through the live rooms', async () => {
    const owner = await caller(server, `editor-${kind}`);
    const project = await createProject(server, owner, 'moving');
    await putTextFile(server, project.id, 'src/ui/colors.ts', COLORS_TS);
    const gone = await putTextFile(server, project.id, 'src/old/legacy.ts', 'export const frobnicateLegacy = () => "FROBNICATE_OLD";');
    fake.script({ kind: 'answer', pieces: ['ok'] });
    await ask(server, owner.token, project.id, { question: 'What does frobnicate do?' });
    expect(systemMessage(fake.requests.at(-1))).toContain('FROBNICATE_OLD');

    // Through the live rooms, as a daemon's edit would arrive; the materializer writes the row.
    const put = await fetchRaw(server, owner.token, 'PUT', projectUrl(project.id, '/files/content?path=src%2Fcore%2Ffrobnicate.ts'), {
      data: 'export function frobnicate(input: string) {\n  return input.split("").reverse().join(""); // FROBNICATE_NEW\n}\n',
      contentType: 'text/plain',
    });
    expect(put.status).toBe(200);
    await eventually(async () => {
      const row = await server.app.db.selectFrom('project_files').select('content').where('project_id', '=', project.id).where('path', '=', 'src/core/frobnicate.ts').executeTakeFirst();
      expect(row?.content).toContain('FROBNICATE_NEW');
    });
    // The rooms' index doc is the truth: files put straight into the table are gone again.
    await eventually(async () => {
      const row = await server.app.db.selectFrom('project_files').select('path').where('file_id', '=', gone).executeTakeFirst();
      expect(row).toBeUndefined();
    });

    const result = await ask(server, owner.token, project.id, { question: 'What does frobnicate do?' });
    expect(result.events[0]).toMatchObject({ event: 'meta', data: { files: ['src/core/frobnicate.ts'] } });
    const context = systemMessage(fake.requests.at(-1));
    expect(context).toContain('FROBNICATE_NEW');
    expect(context).not.toContain('FROBNICATE_OLD');

  });

  it('follows a rename: the answer names the file as it is called now', async () => {
    const owner = await caller(server, `renamer-${kind}`);
    const project = await createProject(server, owner, 'renames');
    await putTextFile(server, project.id, 'src/ui/colors.ts', COLORS_TS);
    fake.script({ kind: 'answer', pieces: ['ok'] });
    const before = await ask(server, owner.token, project.id, { question: 'Which colour is amber?' });
    expect(before.events[0]).toMatchObject({ event: 'meta', data: { files: ['src/ui/colors.ts'] } });

    await server.app.db
      .updateTable('project_files')
      .set({ path: 'src/ui/palette.ts', updated_at: new Date(Date.now() + 1000) })
      .where('project_id', '=', project.id)
      .where('path', '=', 'src/ui/colors.ts')
      .execute();
    const after = await ask(server, owner.token, project.id, { question: 'Which colour is amber?' });
    expect(after.events[0]).toMatchObject({ event: 'meta', data: { files: ['src/ui/palette.ts'] } });
    expect(systemMessage(fake.requests.at(-1))).toContain('### src/ui/palette.ts (lines 1-3)');
  });
});

describe.each(STORAGE_KINDS)('asking a restarted server [%s]', (kind) => {
  let fake: FakeOpenAi;
  let storage: TestStorage;
  let server: TestServer | undefined;
  const configure = (config: ServerConfig) => {
    config.ai = { ...config.ai, baseUrl: fake.baseUrl, apiKey: 'sk-test-key', model: 'test-model' };
  };
  /** The server's log lines, parsed, as the asker's operator would read them. */
  const logged = () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    return { lines, logger: serverLoggerOptions('info', sink) };
  };

  beforeAll(async () => {
    fake = await startFakeOpenAi();
    storage = await createTestStorage(kind);
  });
  afterAll(async () => {
    await server?.close();
    await storage?.dispose();
    await fake?.close();
  });

  it('answers from the chunks its first run stored, re-chunking no file that did not change', async () => {
    const firstLog = logged();
    server = await startServerOn(storage, configure, { logger: firstLog.logger });
    const owner = await caller(server, `restarted-${kind}`);
    const project = await createProject(server, owner, 'restarted');
    await putTextFile(server, project.id, 'src/net/retry.ts', RETRY_TS);
    await putTextFile(server, project.id, 'src/ui/colors.ts', COLORS_TS);
    const question = { question: 'How does retryWithBackoff decide how long to wait?' };
    fake.script({ kind: 'answer', pieces: ['It doubles the delay.'] });
    const first = await ask(server, owner.token, project.id, question);
    expect(first.events[0]).toMatchObject({ event: 'meta', data: { files: ['src/net/retry.ts'] } });
    const context = systemMessage(fake.requests.at(-1));
    expect(context).toContain('RETRY_BODY_MARKER');
    expect(firstLog.lines.filter((l) => l.msg === 'asking the AI provider')).toEqual([expect.objectContaining({ indexedFiles: 2 })]);
    await server.close();
    server = undefined;

    const secondLog = logged();
    server = await startServerOn(storage, configure, { logger: secondLog.logger });
    const second = await ask(server, owner.token, project.id, question);
    expect(second.events[0]).toMatchObject({ event: 'meta', data: { files: ['src/net/retry.ts'] } });
    expect(systemMessage(fake.requests.at(-1))).toBe(context);
    expect(secondLog.lines.filter((l) => l.msg === 'asking the AI provider')).toEqual([expect.objectContaining({ indexedFiles: 0 })]);
  });
});

describe('who may ask', () => {
  let fake: FakeOpenAi;
  let server: TestServer;

  beforeAll(async () => {
    fake = await startFakeOpenAi();
    server = await startTestServer('pglite', (config) => {
      config.ai = { ...config.ai, baseUrl: fake.baseUrl, apiKey: 'sk-test-key', model: 'test-model' };
    });
  });
  afterAll(async () => {
    await server?.close();
    await fake?.close();
  });

  it('lets a viewer ask; a non-member of a private project gets 404, of a public one 403', async () => {
    const owner = await caller(server, 'who-owner');
    const viewer = await caller(server, 'who-viewer');
    const stranger = await caller(server, 'who-stranger');
    const secret = await createProject(server, owner, 'secret', { members: [[viewer, 'viewer']] });
    const open = await createProject(server, owner, 'open', { visibility: 'public' });
    await putTextFile(server, secret.id, 'plan.md', 'The launch date is TOP_SECRET_DATE.');
    fake.script({ kind: 'answer', pieces: ['Soon.'] });
    const requestsBefore = fake.requests.length;

    const byViewer = await ask(server, viewer.token, secret.fullName, { question: 'When is the launch?' });
    expect(answerText(byViewer.events)).toBe('Soon.');
    expect(byViewer.events.at(-1)?.event).toBe('done');

    const hidden = await ask(server, stranger.token, secret.fullName, { question: 'When is the launch?' });
    expect(hidden.status).toBe(404);
    expect(hidden.json).toEqual({ error: { code: 'CS_ERR_PROJECT_NOT_FOUND', message: 'Project not found' } });
    const visible = await ask(server, stranger.token, open.fullName, { question: 'What is this?' });
    expect(visible.status).toBe(403);
    expect(visible.json.error.code).toBe('CS_ERR_FORBIDDEN');
    // Neither refusal reached the provider.
    expect(fake.requests.length).toBe(requestsBefore + 1);
  });

  it('refuses bad questions and unknown sessions with the error shape', async () => {
    const owner = await caller(server, 'bad-input');
    const other = await caller(server, 'bad-input-other');
    const project = await createProject(server, owner, 'strict');
    const otherProject = await createProject(server, other, 'elsewhere');
    const foreign = await other.api('POST', projectUrl(otherProject.id, '/ai/sessions'), {});

    const empty = await ask(server, owner.token, project.id, { question: '   ' });
    expect(empty.status).toBe(400);
    expect(empty.json.error.message).toMatch(/question is empty/);
    const missing = await fetchRaw(server, owner.token, 'POST', projectUrl(project.id, '/ai/ask'), { data: '{}', contentType: 'application/json' });
    expect(missing.status).toBe(400);
    expect(missing.json.error.code).toBe('CS_ERR_VALIDATION');
    for (const sessionId of ['not-a-session', foreign.body.id as string]) {
      const res = await ask(server, owner.token, project.id, { question: 'hi?', sessionId });
      expect(res.status).toBe(404);
      expect(res.json.error.code).toBe('CS_ERR_AI_SESSION_NOT_FOUND');
    }
    const sessions = await owner.api('GET', projectUrl(project.id, '/ai/sessions'));
    expect(sessions.body.items).toEqual([]);
  });
});
