// Answers a question about a project: picks the context, stores the question, asks the model
// and streams its answer while storing it. An answer is stored as `streaming` before the first
// token and ends as `complete`, `interrupted` (it broke off: the partial text is kept) or
// `failed` (nothing came), so nothing half-written ever reads as complete.
import type { Kysely } from 'kysely';
import type OpenAI from 'openai';
import type { FastifyBaseLogger as Logger } from 'fastify';
import type { ChatCompletionChunk, ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import type { Stream } from 'openai/streaming';
import type { AskEvent, AskMeta, AskUsage } from '../../common/ai-stream.js';
import type { Database } from '../../db/schema.js';
import { createError, errors, type AppError } from '../errors.js';
import { addAiMessage, createAiSession, findAiSession, finishAiMessage, recentAiMessages } from '../repos/ai.js';
import { isUuid } from '../repos/keyset.js';
import { buildProjectContext, CHARS_PER_TOKEN } from './context.js';
import { ProjectIndexes } from './project-indexes.js';
import { aiConfigured, createProviderClient, providerError, type AiSettings } from './provider.js';

const TITLE_CHARS = 80;
const HISTORY_MESSAGES = 20;
/**
 * A stream that breaks before its first token is asked for again this many times: nothing of
 * it reached the asker, so a second try is invisible. After a token, a retry would repeat it.
 */
const STREAM_RETRIES = 1;

export interface AskInput {
  project: { id: string; fullName: string };
  user: { id: string; username: string };
  question: string;
  sessionId?: string | undefined;
  currentFile?: string | undefined;
}

export function sessionTitle(question: string): string {
  const line = question.split('\n').find((l) => l.trim() !== '') ?? question;
  const title = line.replace(/\s+/g, ' ').trim();
  return title.length > TITLE_CHARS ? `${title.slice(0, TITLE_CHARS - 1).trimEnd()}…` : title;
}

export function systemPrompt(projectName: string, context: string): string {
  return [
    `You answer questions about the software project ${projectName}, which a team edits together.`,
    'Answer from the project context below: excerpts of the files that best match the question, the asker\'s current file,',
    'the file tree, recent changes and the git state. Name the files (with line numbers) you draw on.',
    'When the context does not hold the answer, say so and say where in the project to look; never invent code that is not shown.',
    'Be concise.',
    '',
    '# Project context',
    context,
  ].join('\n');
}

/** The newest turns that fit in the budget, oldest first. */
function fitHistory(messages: { role: 'user' | 'assistant'; content: string }[], maxChars: number): ChatCompletionMessageParam[] {
  const kept: ChatCompletionMessageParam[] = [];
  let used = 0;
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i];
    if (!message || used + message.content.length > maxChars) break;
    used += message.content.length;
    kept.unshift({ role: message.role, content: message.content });
  }
  // A conversation the model reads starts with a question.
  while (kept[0]?.role === 'assistant') kept.shift();
  return kept;
}

type StopReason = 'client' | 'shutdown';

export class ProjectAssistant {
  private readonly indexes: ProjectIndexes;
  private client: OpenAI | null = null;
  private readonly active = new Set<Answer>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly settings: AiSettings,
    private readonly log: Logger,
  ) {
    this.indexes = new ProjectIndexes(db);
  }

  get configured(): boolean {
    return aiConfigured(this.settings);
  }

  /**
   * Everything up to the first byte of the answer. Throws coded errors (not configured, no
   * such session, the provider refusing), which the route answers as plain HTTP errors.
   */
  async begin(input: AskInput, log: Logger, signal?: AbortSignal): Promise<Answer> {
    const settings = this.settings;
    if (!aiConfigured(settings)) throw errors.aiNotConfigured();
    let session: { id: string } | undefined;
    if (input.sessionId !== undefined) {
      const sid = input.sessionId.toLowerCase();
      session = isUuid(sid) ? await findAiSession(this.db, input.project.id, sid) : undefined;
      if (!session) throw errors.aiSessionNotFound();
    }

    const { index, refresh } = await this.indexes.current(input.project.id);
    const context = await buildProjectContext(this.db, index, {
      projectId: input.project.id,
      projectName: input.project.fullName,
      question: input.question,
      currentFile: input.currentFile,
      contextTokens: settings.contextTokens,
    });
    const history = session ? await recentAiMessages(this.db, session.id, HISTORY_MESSAGES) : [];
    const messages: ChatCompletionMessageParam[] = [
      { role: 'system', content: systemPrompt(input.project.fullName, context.text) },
      ...fitHistory(history, settings.historyTokens * CHARS_PER_TOKEN),
      { role: 'user', content: input.question },
    ];

    session ??= await createAiSession(this.db, { projectId: input.project.id, createdBy: input.user, title: sessionTitle(input.question) });
    await addAiMessage(this.db, { sessionId: session.id, role: 'user', content: input.question, userId: input.user.id, status: 'complete' });
    const stored = await addAiMessage(this.db, {
      sessionId: session.id,
      role: 'assistant',
      content: '',
      userId: input.user.id,
      model: settings.model,
      filesUsed: context.files,
      status: 'streaming',
    });
    const meta: AskMeta = { sessionId: session.id, messageId: stored.id, model: settings.model, files: context.files };
    const answerLog = log.child({ sessionId: session.id, messageId: stored.id });
    answerLog.info(
      { contextTokens: context.tokens, files: context.files.length, indexedFiles: refresh.indexed, indexMs: Math.round(refresh.ms) },
      'asking the AI provider',
    );
    this.client ??= createProviderClient(settings, this.log);
    const answer = new Answer(this.db, this.client, settings, messages, meta, answerLog, () => this.active.delete(answer));
    this.active.add(answer);
    // The asker may leave while the provider is still thinking: stop asking it then.
    signal?.addEventListener('abort', () => void answer.stop('client'), { once: true });
    if (signal?.aborted) void answer.stop('client');
    try {
      await answer.open();
    } catch (err) {
      this.active.delete(answer);
      throw err;
    }
    return answer;
  }

  /** Shutdown: every answer in flight ends as interrupted, stored, with an error event. */
  async close(): Promise<void> {
    await Promise.all([...this.active].map((answer) => answer.stop('shutdown')));
  }
}

export class Answer {
  private stream: Stream<ChatCompletionChunk> | null = null;
  private attempt = new AbortController();
  private stopReason: StopReason | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private idleFired = false;
  private finished: Promise<void> | null = null;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly client: OpenAI,
    private readonly settings: AiSettings & { model: string },
    private readonly messages: ChatCompletionMessageParam[],
    readonly meta: AskMeta,
    private readonly log: Logger,
    private readonly onEnd: () => void,
  ) {}

  /** Asks the provider; resolves once it started answering. A refusal is stored as failed and thrown. */
  async open(): Promise<void> {
    try {
      this.stream = await this.request();
    } catch (err) {
      const stoppedBy = this.stopReason;
      await this.store('', stoppedBy ? 'interrupted' : 'failed', null);
      this.onEnd();
      if (stoppedBy) throw errors.aiInterrupted(stoppedBy === 'shutdown' ? 'the server is shutting down' : 'the request was cancelled');
      const coded = providerError(err, this.settings);
      this.log.warn({ err, code: coded.code }, 'the AI provider did not answer');
      throw coded;
    }
  }

  private request(): Promise<Stream<ChatCompletionChunk>> {
    this.attempt = new AbortController();
    return this.client.chat.completions.create(
      { model: this.settings.model, messages: this.messages, stream: true, stream_options: { include_usage: true } },
      { signal: this.attempt.signal },
    );
  }

  /** The asker left, or the server is stopping: the answer ends as interrupted. */
  stop(reason: StopReason): Promise<void> {
    this.stopReason ??= reason;
    this.attempt.abort();
    return this.finished ?? Promise.resolve();
  }

  /** Streams the answer to `write` and stores how it ended; never throws. */
  pipe(write: (event: AskEvent) => void): Promise<void> {
    this.finished ??= this.run(write).finally(() => this.onEnd());
    return this.finished;
  }

  private async run(write: (event: AskEvent) => void): Promise<void> {
    write({ event: 'meta', data: this.meta });
    let text = '';
    let usage: AskUsage | null = null;
    let retries = STREAM_RETRIES;
    for (;;) {
      let failure: unknown = null;
      let complete = false;
      try {
        if (!this.stream) throw new Error('no stream');
        this.armIdle();
        for await (const chunk of this.stream) {
          this.armIdle();
          if (chunk.usage) usage = { promptTokens: chunk.usage.prompt_tokens, completionTokens: chunk.usage.completion_tokens };
          for (const choice of chunk.choices ?? []) {
            const delta = choice.delta?.content;
            if (delta) {
              text += delta;
              write({ event: 'delta', data: { text: delta } });
            }
            if (choice.finish_reason) complete = true;
          }
        }
      } catch (err) {
        failure = err;
      } finally {
        this.disarmIdle();
      }
      // A finished answer whose trailing usage chunk was lost is still a whole answer.
      if (complete && !this.stopReason) {
        await this.store(text, 'complete', usage);
        write({ event: 'done', data: { messageId: this.meta.messageId, usage } });
        this.log.info({ chars: text.length, usage }, 'answer complete');
        return;
      }
      if (!this.stopReason && text === '' && retries > 0) {
        retries--;
        this.log.warn({ err: failure, idle: this.idleFired }, 'the answer broke off before its first token: asking again');
        this.idleFired = false;
        try {
          this.stream = await this.request();
          continue;
        } catch (err) {
          failure = err;
          if (!this.stopReason) {
            await this.store('', 'failed', null);
            this.fail(write, providerError(err, this.settings), err);
            return;
          }
        }
      }
      await this.store(text, this.stopReason || text !== '' ? 'interrupted' : 'failed', usage);
      if (this.stopReason === 'client') {
        this.log.info({ chars: text.length }, 'the asker left before the answer was complete');
        return;
      }
      this.fail(write, this.breakOff(failure, text), failure);
      return;
    }
  }

  private breakOff(failure: unknown, text: string): AppError {
    const kept = text === '' ? '' : '; the partial answer is kept';
    if (this.stopReason === 'shutdown') return errors.aiInterrupted(`the server is shutting down${kept}`);
    if (this.idleFired) {
      const seconds = Math.round(this.settings.streamIdleMs / 100) / 10;
      return errors.aiTimeout(`stopped sending for ${seconds} s in the middle of the answer${kept}`);
    }
    if (failure && (failure as { status?: unknown }).status !== undefined) {
      const coded = providerError(failure, this.settings);
      return createError(coded.code, `${coded.message}${kept}`, coded.statusCode);
    }
    if (failure) return errors.aiInterrupted(`the connection to the AI provider dropped${kept}`);
    return errors.aiInterrupted(`the AI provider ended the stream before the answer was finished${kept}`);
  }

  private fail(write: (event: AskEvent) => void, error: AppError, cause: unknown): void {
    this.log.warn({ err: cause, code: error.code }, 'answer broke off');
    write({ event: 'error', data: { code: error.code, message: error.message } });
  }

  private armIdle(): void {
    this.disarmIdle();
    this.idleTimer = setTimeout(() => {
      this.idleFired = true;
      this.attempt.abort();
    }, this.settings.streamIdleMs);
  }

  private disarmIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }

  private async store(content: string, status: 'complete' | 'interrupted' | 'failed', usage: AskUsage | null): Promise<void> {
    try {
      await finishAiMessage(this.db, this.meta.messageId, {
        content,
        status,
        promptTokens: usage?.promptTokens ?? null,
        completionTokens: usage?.completionTokens ?? null,
      });
    } catch (err) {
      this.log.error({ err, status }, 'storing the answer failed');
    }
  }
}
