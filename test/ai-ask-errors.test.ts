// When the answer cannot be had: AI not configured, the provider refusing (401, 429 after
// retries), timing out, or breaking off in the middle. Each gives the asker a message that says
// what happened, and the stored answer says how it ended.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addAiMessage, interruptUnfinishedAnswers } from '../server/repos/ai.js';
import { answerText, ask, putTextFile } from './helpers/ask.js';
import { eventually } from './helpers/eventually.js';
import { startFakeOpenAi, type FakeOpenAi } from './helpers/fake-openai.js';
import { caller, createProject, projectUrl, type Caller, type TestProject } from './helpers/projects.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const FAST_RETRY = { 'retry-after-ms': '1' };

async function storedMessages(owner: Caller, project: TestProject): Promise<any[]> {
  const sessions = await owner.api('GET', projectUrl(project.id, '/ai/sessions'));
  const all: any[] = [];
  for (const session of sessions.body.items.reverse()) {
    const messages = await owner.api('GET', projectUrl(project.id, `/ai/sessions/${session.id}/messages`));
    all.push(...messages.body.items);
  }
  return all;
}

describe('AI not configured', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('pglite');
  });
  afterAll(async () => {
    await server?.close();
  });

  it('answers 503 naming the settings, and stores nothing', async () => {
    const owner = await caller(server, 'unconfigured');
    const project = await createProject(server, owner, 'no-ai');
    const result = await ask(server, owner.token, project.id, { question: 'Anyone there?' });
    expect(result.status).toBe(503);
    expect(result.json.error.code).toBe('CS_ERR_AI_NOT_CONFIGURED');
    expect(result.json.error.message).toContain('OPENAI_API_KEY');
    expect(result.json.error.message).toContain('CODESHARE_AI_MODEL');
    expect((await owner.api('GET', projectUrl(project.id, '/ai/sessions'))).body.items).toEqual([]);
  });
});

describe('provider failures', () => {
  let fake: FakeOpenAi;
  let server: TestServer;
  let owner: Caller;
  let n = 0;
  const freshProject = async () => {
    const project = await createProject(server, owner, `failures-${++n}`);
    await putTextFile(server, project.id, 'src/main.ts', 'export const main = () => console.log("hello");');
    return project;
  };

  beforeAll(async () => {
    fake = await startFakeOpenAi();
    server = await startTestServer('pglite', (config) => {
      config.ai = { ...config.ai, baseUrl: fake.baseUrl, apiKey: 'sk-wrong', model: 'test-model', maxRetries: 2, timeoutMs: 400, streamIdleMs: 400 };
    });
    owner = await caller(server, 'failures');
  });
  afterAll(async () => {
    await server?.close();
    await fake?.close();
  });

  it('a refused key: a 502 that names OPENAI_API_KEY, not retried, and the answer stored as failed', async () => {
    const project = await freshProject();
    fake.script({ kind: 'status', status: 401, message: 'Incorrect API key provided' });
    const before = fake.requests.length;
    const result = await ask(server, owner.token, project.id, { question: 'What does main do?' });
    expect(result.status).toBe(502);
    expect(result.json.error).toEqual({
      code: 'CS_ERR_AI_PROVIDER_AUTH',
      message: "The AI provider refused the server's API key (401): check OPENAI_API_KEY on the server",
    });
    expect(fake.requests.length).toBe(before + 1);
    expect(await storedMessages(owner, project)).toEqual([
      expect.objectContaining({ role: 'user', content: 'What does main do?', status: 'complete' }),
      expect.objectContaining({ role: 'assistant', content: '', status: 'failed', model: 'test-model' }),
    ]);
  });

  it('rate limited: retried, then a 503 that says to try again later', async () => {
    const project = await freshProject();
    fake.script({ kind: 'status', status: 429, message: 'Rate limit reached', headers: FAST_RETRY });
    const before = fake.requests.length;
    const result = await ask(server, owner.token, project.id, { question: 'What does main do?' });
    expect(result.status).toBe(503);
    expect(result.json.error).toEqual({
      code: 'CS_ERR_AI_RATE_LIMITED',
      message: 'The AI provider is rate limiting this server (429, 3 attempts): try again in a minute',
    });
    expect(fake.requests.length).toBe(before + 3);
    expect((await storedMessages(owner, project)).map((m) => m.status)).toEqual(['complete', 'failed']);
  });

  it('a passing failure before the answer starts is retried unseen', async () => {
    const project = await freshProject();
    fake.script(
      { kind: 'status', status: 429, message: 'slow down', headers: FAST_RETRY },
      { kind: 'status', status: 503, message: 'overloaded', headers: FAST_RETRY },
      { kind: 'drop', pieces: [] },
      { kind: 'answer', pieces: ['Prints ', 'hello.'] },
    );
    const before = fake.requests.length;
    const result = await ask(server, owner.token, project.id, { question: 'What does main do?' });
    expect(result.status).toBe(200);
    expect(result.events.map((e) => e.event)).toEqual(['meta', 'delta', 'delta', 'done']);
    expect(answerText(result.events)).toBe('Prints hello.');
    expect(fake.requests.length).toBe(before + 4);
    expect((await storedMessages(owner, project)).at(-1)).toMatchObject({ content: 'Prints hello.', status: 'complete' });
  });

  it('no answer in time: a 504 saying how long it waited', async () => {
    const project = await freshProject();
    fake.script({ kind: 'hang' });
    const result = await ask(server, owner.token, project.id, { question: 'What does main do?' });
    expect(result.status).toBe(504);
    expect(result.json.error).toEqual({ code: 'CS_ERR_AI_TIMEOUT', message: 'The AI provider did not start answering within 0.4 s (3 attempts)' });
    expect((await storedMessages(owner, project)).map((m) => m.status)).toEqual(['complete', 'failed']);
  });

  it('a stream dropped mid-way: the partial answer, an error event, stored as interrupted', async () => {
    const project = await freshProject();
    fake.script({ kind: 'drop', pieces: ['It prints', ' hel'] });
    const before = fake.requests.length;
    const result = await ask(server, owner.token, project.id, { question: 'What does main do?' });
    expect(result.status).toBe(200);
    expect(result.events.map((e) => e.event)).toEqual(['meta', 'delta', 'delta', 'error']);
    expect(answerText(result.events)).toBe('It prints hel');
    expect(result.events.at(-1)).toEqual({
      event: 'error',
      data: { code: 'CS_ERR_AI_INTERRUPTED', message: 'The answer broke off: the connection to the AI provider dropped; the partial answer is kept' },
    });
    // Text had reached the asker: asking again would repeat it.
    expect(fake.requests.length).toBe(before + 1);
    expect((await storedMessages(owner, project)).at(-1)).toMatchObject({ role: 'assistant', content: 'It prints hel', status: 'interrupted' });
  });

  it('a stream that stalls mid-way: a timeout error event, stored as interrupted', async () => {
    const project = await freshProject();
    fake.script({ kind: 'stall', pieces: ['It prints'] });
    const result = await ask(server, owner.token, project.id, { question: 'What does main do?' });
    expect(result.events.map((e) => e.event)).toEqual(['meta', 'delta', 'error']);
    expect(result.events.at(-1)).toEqual({
      event: 'error',
      data: { code: 'CS_ERR_AI_TIMEOUT', message: 'The AI provider stopped sending for 0.4 s in the middle of the answer; the partial answer is kept' },
    });
    expect((await storedMessages(owner, project)).at(-1)).toMatchObject({ content: 'It prints', status: 'interrupted' });
  });

  it('an asker who leaves mid-answer leaves it stored as interrupted', async () => {
    const project = await freshProject();
    fake.script({ kind: 'answer', pieces: ['One', ' two', ' three', ' four', ' five', ' six', ' seven', ' eight'], delayMs: 150 });
    const leave = new AbortController();
    await ask(server, owner.token, project.id, { question: 'Count slowly?' }, {
      signal: leave.signal,
      onEvent: (event) => event.event === 'delta' && leave.abort(),
    }).catch((err: Error) => expect(err.name).toBe('AbortError'));
    const last = await eventually(async () => {
      const message = (await storedMessages(owner, project)).at(-1);
      expect(message.status).toBe('interrupted');
      return message;
    });
    expect(last.content.startsWith('One')).toBe(true);
    expect(last.content).not.toContain('eight');
  });
});

describe('a server stopping mid-answer', () => {
  let fake: FakeOpenAi;
  let server: TestServer;
  beforeAll(async () => {
    fake = await startFakeOpenAi();
    server = await startTestServer('pglite', (config) => {
      config.ai = { ...config.ai, baseUrl: fake.baseUrl, apiKey: 'sk-test', model: 'test-model' };
    });
  });
  afterAll(async () => {
    await server?.close();
    await fake?.close();
  });

  it('ends the stream with an error event and stores the answer as interrupted', async () => {
    const owner = await caller(server, 'stopping');
    const project = await createProject(server, owner, 'stopping');
    fake.script({ kind: 'answer', pieces: ['Slowly', ' and', ' then', ' not', ' at', ' all'], delayMs: 200 });
    let closing: Promise<void> | null = null;
    const result = await ask(server, owner.token, project.id, { question: 'Still there?' }, {
      onEvent: (event) => {
        if (event.event === 'delta') closing ??= server.app.close();
      },
    });
    await closing;
    expect(result.events.at(-1)).toEqual({
      event: 'error',
      data: { code: 'CS_ERR_AI_INTERRUPTED', message: 'The answer broke off: the server is shutting down; the partial answer is kept' },
    });
    const stored = await server.app.db.selectFrom('ai_messages').select(['role', 'content', 'status']).orderBy('id').execute();
    expect(stored).toEqual([
      { role: 'user', content: 'Still there?', status: 'complete' },
      { role: 'assistant', content: answerText(result.events), status: 'interrupted' },
    ]);
  });

  it('at start, answers a killed server left streaming read as interrupted (or failed when empty)', async () => {
    const db = server.app.db;
    const session = await db.selectFrom('ai_chat_sessions').select('id').executeTakeFirstOrThrow();
    const partial = await addAiMessage(db, { sessionId: session.id, role: 'assistant', content: 'Half an', status: 'streaming' });
    const empty = await addAiMessage(db, { sessionId: session.id, role: 'assistant', content: '', status: 'streaming' });
    expect(await interruptUnfinishedAnswers(db)).toBe(2);
    const rows = await db.selectFrom('ai_messages').select(['id', 'status']).where('id', 'in', [partial.id, empty.id]).orderBy('id').execute();
    expect(rows).toEqual([
      { id: partial.id, status: 'interrupted' },
      { id: empty.id, status: 'failed' },
    ]);
  });
});
