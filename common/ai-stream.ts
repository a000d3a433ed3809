// The answer stream of POST /api/projects/:id/ai/ask, as Server-Sent Events. The server writes
// these events and the CLI reads them; the grammar lives here once:
//
//   event: meta   data: {"sessionId","messageId","model","files":[paths the context drew on]}
//   event: delta  data: {"text"}                      zero or more, in order
//   event: done   data: {"messageId","usage":{"promptTokens","completionTokens"}|null}
//   event: error  data: {"code","message"}            instead of done: the answer broke off
//
// Every stream starts with meta and ends with exactly one of done or error. Refusals before
// the answer starts (no access, AI not configured, the provider refusing) are plain HTTP errors.

export interface AskMeta {
  sessionId: string;
  /** The assistant message being written; it is stored as streaming until done or error. */
  messageId: number;
  model: string;
  files: string[];
}

export interface AskUsage {
  promptTokens: number;
  completionTokens: number;
}

export type AskEvent =
  | { event: 'meta'; data: AskMeta }
  | { event: 'delta'; data: { text: string } }
  | { event: 'done'; data: { messageId: number; usage: AskUsage | null } }
  | { event: 'error'; data: { code: string; message: string } };

export function encodeSseEvent(event: AskEvent): string {
  // JSON never contains a raw newline, so one data line carries the whole payload.
  return `event: ${event.event}\ndata: ${JSON.stringify(event.data)}\n\n`;
}

const KNOWN_EVENTS = new Set(['meta', 'delta', 'done', 'error']);

/**
 * The events of an SSE body, in order. Comments and unknown events are skipped, as the SSE
 * grammar says; a malformed data line throws, since it means the body is not this stream.
 */
export async function* decodeSseEvents(body: AsyncIterable<Uint8Array>): AsyncGenerator<AskEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  let name = 'message';
  let data: string[] = [];
  const dispatch = (): AskEvent | null => {
    const event = data.length > 0 && KNOWN_EVENTS.has(name) ? ({ event: name, data: JSON.parse(data.join('\n')) } as AskEvent) : null;
    name = 'message';
    data = [];
    return event;
  };
  const lines = function* (final: boolean) {
    for (let end = buffer.search(/\r\n|\r|\n/); end !== -1; end = buffer.search(/\r\n|\r|\n/)) {
      // A lone \r at the end of a chunk may be the first half of \r\n.
      if (!final && buffer[end] === '\r' && end === buffer.length - 1) break;
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + (buffer.startsWith('\r\n', end) ? 2 : 1));
      yield line;
    }
  };
  const handle = (line: string): AskEvent | null => {
    if (line === '') return dispatch();
    if (line.startsWith(':')) return null;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') name = value;
    else if (field === 'data') data.push(value);
    return null;
  };
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    for (const line of lines(false)) {
      const event = handle(line);
      if (event) yield event;
    }
  }
  buffer += decoder.decode();
  for (const line of lines(true)) {
    const event = handle(line);
    if (event) yield event;
  }
  // A body that stops without the blank line after its last event still delivered it.
  if (buffer !== '') handle(buffer);
  const last = dispatch();
  if (last) yield last;
}
