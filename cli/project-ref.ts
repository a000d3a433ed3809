// How a person names a project on the command line: its id, owner/name, just a name (one of
// their own projects), or the URL the server shows for it, http://host:port/p/owner/name. A URL
// also says which server the project lives on.
import { usageError } from './errors.js';

export type ProjectRef =
  | { kind: 'id'; id: string; server?: string }
  | { kind: 'full-name'; owner: string; name: string; server?: string }
  /** A name without an owner: the signed-in user's own project of that name. */
  | { kind: 'own-name'; name: string; server?: string };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Loose on purpose: the server decides what names exist; this only rejects what can never be one.
const NAME_PART = /^[^\s/\\]+$/;

const EXAMPLES = 'e.g. alice/demo, a project id, or http://127.0.0.1:4455/p/alice/demo';

function decodeSegment(segment: string, input: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw usageError(`cannot read the project URL ${input}: bad %-escape`);
  }
}

function parseNamePart(value: string, input: string): ProjectRef {
  if (UUID.test(value)) return { kind: 'id', id: value.toLowerCase() };
  if (!NAME_PART.test(value)) throw usageError(`${JSON.stringify(input)} is not a project: name one as ${EXAMPLES}`);
  return { kind: 'own-name', name: value };
}

export function parseProjectRef(input: string): ProjectRef {
  const value = input.trim();
  if (value === '') throw usageError(`no project given: name one as ${EXAMPLES}`);

  if (/^https?:\/\//i.test(value)) {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw usageError(`${value} is not a valid URL`);
    }
    // The server may live under a base path: everything before /p/ belongs to its address.
    const match = /^(.*?)\/p\/([^/]+)(?:\/([^/]+))?\/?$/.exec(url.pathname);
    if (!match) throw usageError(`${value} is not a project URL: expected http://host:port/p/owner/name`);
    const server = `${url.origin}${match[1] ?? ''}`;
    const first = decodeSegment(match[2] ?? '', value);
    const second = match[3] === undefined ? undefined : decodeSegment(match[3], value);
    if (second === undefined) {
      if (!UUID.test(first)) throw usageError(`${value} is not a project URL: expected http://host:port/p/owner/name`);
      return { kind: 'id', id: first.toLowerCase(), server };
    }
    if (!NAME_PART.test(first) || !NAME_PART.test(second)) throw usageError(`${value} is not a project URL: expected http://host:port/p/owner/name`);
    return { kind: 'full-name', owner: first, name: second, server };
  }

  const parts = value.split('/');
  if (parts.length === 1) return parseNamePart(value, input);
  const [owner, name] = parts;
  if (parts.length !== 2 || !owner || !name || !NAME_PART.test(owner) || !NAME_PART.test(name)) {
    throw usageError(`${JSON.stringify(input)} is not a project: name one as ${EXAMPLES}`);
  }
  return { kind: 'full-name', owner, name };
}

/** The string the API takes as :id, given who is signed in (for a name without an owner). */
export function apiProjectRef(ref: ProjectRef, username: string): string {
  if (ref.kind === 'id') return ref.id;
  if (ref.kind === 'full-name') return `${ref.owner}/${ref.name}`;
  return `${username}/${ref.name}`;
}

export function describeProjectRef(ref: ProjectRef): string {
  if (ref.kind === 'id') return ref.id;
  if (ref.kind === 'full-name') return `${ref.owner}/${ref.name}`;
  return ref.name;
}
