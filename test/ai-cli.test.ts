// `codeshare ask` and `codeshare chat` through the real executable, against a real server whose
// AI provider is a local OpenAI-compatible server started by the test. Each user signs in under
// a CODESHARE_HOME of their own.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { putTextFile } from './helpers/ask.js';
import { CLI_SUITE_TIMEOUTS, runCli, TempFolders } from './helpers/cli.js';
import { eventually } from './helpers/eventually.js';
import { startFakeOpenAi, systemMessage, type FakeOpenAi } from './helpers/fake-openai.js';
import { caller, createProject, projectUrl, type Caller, type TestProject } from './helpers/projects.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const RETRY_TS = [
  '/** RETRY_BODY_MARKER: waits twice as long after each failure. */',
  'export async function retryWithBackoff<T>(fn: () => Promise<T>, attempts = 5): Promise<T> {',
  '  let delayMs = 100;',
  '  for (let attempt = 1; ; attempt++) {',
  '    try { return await fn(); } catch (err) { if (attempt >= attempts) throw err; }',
  '    await new Promise((resolve) => setTimeout(resolve, delayMs));',
  '    delayMs *= 2;',
  '  }',
  '}',
].join('\n');

describe('codeshare ask', CLI_SUITE_TIMEOUTS, () => {
  const temp = new TempFolders();
  let fake: FakeOpenAi;
  let server: TestServer;
  let bare: TestServer;
  let alice: Caller;
  let project: TestProject;
  const homes: Record<string, string> = {};

  const login = async (name: string, url = server.url) => {
    const home = await temp.make(`codeshare-ask-${name}-`);
    const run = await runCli(['auth', 'login', '--server', url, '--name', name], { home });
    expect(run.exitCode, run.stderr).toBe(0);
    homes[name] = home;
    return home;
  };

  beforeAll(async () => {
    fake = await startFakeOpenAi();
    server = await startTestServer('pglite', (config) => {
      config.ai = { ...config.ai, baseUrl: fake.baseUrl, apiKey: 'sk-test', model: 'test-model', maxRetries: 0 };
    });
    bare = await startTestServer('pglite');
    alice = await caller(server, 'alice');
    const bob = await caller(server, 'bob');
    await caller(server, 'carol');
    project = await createProject(server, alice, 'app', { members: [[bob, 'viewer']] });
    await putTextFile(server, project.id, 'src/net/retry.ts', RETRY_TS);
    await putTextFile(server, project.id, 'src/ui/colors.ts', "// PALETTE_MARKER\nexport const teal = '#008080';\n");
    await Promise.all(['alice', 'bob', 'carol'].map((name) => login(name)));
  }, CLI_SUITE_TIMEOUTS.timeout);

  afterAll(async () => {
    await server?.close();
    await bare?.close();
    await fake?.close();
    await temp.removeAll();
  });

  it('streams the answer to stdout in order, then names its sources on stderr', async () => {
    fake.script({ kind: 'answer', pieces: ['Each failure ', 'doubles ', 'the delay, ', 'starting at 100 ms.'] });
    const run = await runCli(['ask', '--project', 'alice/app', 'How does retryWithBackoff wait between attempts?'], { home: homes.alice! });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toBe('Each failure doubles the delay, starting at 100 ms.');
    expect(run.stderr).toContain('Sources: src/net/retry.ts');
    expect(run.stderr).toMatch(/Session [0-9a-f-]{36}: ask a follow-up with --session [0-9a-f-]{36}/);
    const context = systemMessage(fake.requests.at(-1));
    expect(context).toContain('RETRY_BODY_MARKER');
    expect(context).not.toContain('PALETTE_MARKER');
  });

  it('--json prints the whole answer once; --session continues the conversation', async () => {
    fake.script({ kind: 'answer', pieces: ['Five ', 'attempts.'], usage: { prompt_tokens: 400, completion_tokens: 2 } });
    const first = await runCli(['ask', '--project', project.id, '--json', 'How many attempts does retryWithBackoff make?'], { home: homes.alice! });
    expect(first.exitCode, first.stderr).toBe(0);
    const answer = JSON.parse(first.stdout);
    expect(answer).toEqual({
      sessionId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      answer: 'Five attempts.',
      files: ['src/net/retry.ts'],
      model: 'test-model',
      usage: { promptTokens: 400, completionTokens: 2 },
    });

    fake.script({ kind: 'answer', pieces: ['It rethrows the last error.'] });
    const second = await runCli(['ask', '--project', 'alice/app', '--session', answer.sessionId, '--json', 'And after the last one?'], { home: homes.alice! });
    expect(second.exitCode, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ sessionId: answer.sessionId, answer: 'It rethrows the last error.' });
    expect(fake.requests.at(-1)!.body.messages.slice(1).map((m) => m.content)).toEqual([
      'How many attempts does retryWithBackoff make?',
      'Five attempts.',
      'And after the last one?',
    ]);
    const messages = await alice.api('GET', projectUrl(project.id, `/ai/sessions/${answer.sessionId}/messages`));
    expect(messages.body.items.map((m: any) => `${m.role}:${m.status}`)).toEqual(['user:complete', 'assistant:complete', 'user:complete', 'assistant:complete']);
  });

  it('lets a viewer ask; a non-member is told the project is not found', async () => {
    fake.script({ kind: 'answer', pieces: ['Teal.'] });
    const viewer = await runCli(['ask', '--project', 'alice/app', 'Which colour is the accent?'], { home: homes.bob! });
    expect(viewer.exitCode, viewer.stderr).toBe(0);
    expect(viewer.stdout).toBe('Teal.');

    const stranger = await runCli(['ask', '--project', 'alice/app', 'Which colour is the accent?'], { home: homes.carol! });
    expect(stranger.exitCode).toBe(1);
    expect(stranger.stdout).toBe('');
    expect(stranger.stderr).toContain('project alice/app not found');
  });

  it('says what went wrong: AI not configured, a refused key, an answer that broke off', async () => {
    const home = await login('dave', bare.url);
    const dave = await caller(bare, 'dave');
    await createProject(bare, dave, 'quiet');
    const unconfigured = await runCli(['ask', '--project', 'dave/quiet', 'hello?'], { home });
    expect(unconfigured.exitCode).toBe(1);
    expect(unconfigured.stderr).toContain('AI answers are not configured on this server');
    expect(unconfigured.stderr).toContain('OPENAI_API_KEY and CODESHARE_AI_MODEL');

    fake.script({ kind: 'status', status: 401, message: 'Incorrect API key provided' });
    const refused = await runCli(['ask', '--project', 'alice/app', 'How does retryWithBackoff work?'], { home: homes.alice! });
    expect(refused.exitCode).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toContain("codeshare: The AI provider refused the server's API key (401): check OPENAI_API_KEY on the server");

    fake.script({ kind: 'drop', pieces: ['It waits ', 'longer and'] });
    const dropped = await runCli(['ask', '--project', 'alice/app', 'How does retryWithBackoff work?'], { home: homes.alice! });
    expect(dropped.exitCode).toBe(1);
    expect(dropped.stdout).toBe('It waits longer and');
    expect(dropped.stderr).toContain('codeshare: The answer broke off: the connection to the AI provider dropped; the partial answer is kept');
    const sessions = await alice.api('GET', projectUrl(project.id, '/ai/sessions'));
    const latest = await alice.api('GET', projectUrl(project.id, `/ai/sessions/${sessions.body.items[0].id}/messages`));
    expect(latest.body.items.at(-1)).toMatchObject({ content: 'It waits longer and', status: 'interrupted' });
  });

  it('needs a project outside a synced folder, and a terminal for chat', async () => {
    const elsewhere = await temp.make('codeshare-ask-elsewhere-');
    const run = await runCli(['ask', 'what is this?'], { home: homes.alice!, cwd: elsewhere });
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain('which project? Pass --project owner/name, or run this inside a folder synced with `codeshare share` or `codeshare join`');

    const chat = await runCli(['chat', '--project', 'alice/app'], { home: homes.alice! });
    expect(chat.exitCode).toBe(2);
    expect(chat.stderr).toContain('`codeshare chat` needs a terminal');
  });

  it('documents both commands with examples', async () => {
    for (const command of ['ask', 'chat']) {
      const help = await runCli([command, '--help'], { home: homes.alice! });
      expect(help.exitCode).toBe(0);
      expect(help.stdout).toContain('--project <project>');
      expect(help.stdout).toContain('--session <id>');
      expect(help.stdout).toMatch(new RegExp(`Examples:\\n  codeshare ${command}`));
    }
  });

  it('asks about the project synced in the current folder, with --file relative to it', async () => {
    const home = homes.alice!;
    const folder = await temp.make('codeshare-ask-shared-');
    await mkdir(join(folder, 'src'), { recursive: true });
    await writeFile(join(folder, 'src', 'queue.ts'), 'export function drainQueue() { /* QUEUE_MARKER */ }\n');
    await writeFile(join(folder, 'README.md'), '# shared-app\n');
    try {
      const shared = await runCli(['share', folder, '--name', 'shared-app', '--json'], { home, timeoutMs: 60_000 });
      expect(shared.exitCode, shared.stderr).toBe(0);
      await eventually(async () => {
        const files = await alice.api('GET', projectUrl('alice/shared-app', '/files'));
        expect(files.body.items.map((f: any) => f.path)).toContain('src/queue.ts');
      }, 20_000, 100);

      fake.script({ kind: 'answer', pieces: ['It drains the queue.'] });
      const run = await runCli(['ask', '--file', 'queue.ts', 'What does drainQueue do?'], { home, cwd: join(folder, 'src') });
      expect(run.exitCode, run.stderr).toBe(0);
      expect(run.stdout).toBe('It drains the queue.');
      expect(run.stderr).toContain('Sources: src/queue.ts');
      expect(systemMessage(fake.requests.at(-1))).toContain("## The asker's current file\n### src/queue.ts (lines 1-1)");
    } finally {
      await runCli(['daemon', 'stop'], { home });
    }
  });
});
