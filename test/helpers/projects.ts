// Signed-in callers and projects with members in given roles, for the suites of project
// routes. Members go straight into the database, so these suites do not depend on the
// members routes they are not about.
import { expect } from 'vitest';
import type { Role, Visibility } from '../../db/schema.js';
import { apiClient, signIn, type TestServer } from './server.js';

export type Api = ReturnType<typeof apiClient>;

export interface Caller {
  token: string;
  user: { id: string; username: string };
  api: Api;
}

export async function caller(server: TestServer, username: string): Promise<Caller> {
  const session = await signIn(server.url, username);
  return { ...session, api: apiClient(server.url, session.token) };
}

export interface TestProject {
  id: string;
  fullName: string;
}

export async function createProject(
  server: TestServer,
  owner: Caller,
  name: string,
  options: { visibility?: Visibility; members?: [Caller, Role][] } = {},
): Promise<TestProject> {
  const res = await owner.api('POST', '/api/projects', { name, visibility: options.visibility ?? 'private' });
  expect(res.status).toBe(201);
  const project = res.body as TestProject;
  for (const [member, role] of options.members ?? []) {
    await server.app.db.insertInto('project_members').values({ project_id: project.id, user_id: member.user.id, role }).execute();
  }
  return project;
}

/** `/api/projects/<ref><rest>`, with an owner/name ref encoded as the API expects. */
export const projectUrl = (ref: string, rest = '') => `/api/projects/${encodeURIComponent(ref)}${rest}`;

export interface RawResponse {
  status: number;
  headers: Headers;
  bytes: Buffer;
  text: string;
  /** The parsed body when it is JSON. */
  json: any;
}

/** A request with a body sent byte for byte, and the answer kept as bytes. */
export async function fetchRaw(
  server: TestServer,
  token: string | undefined,
  method: string,
  path: string,
  body?: { data: string | Uint8Array; contentType?: string },
): Promise<RawResponse> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body?.contentType) headers['content-type'] = body.contentType;
  const response = await fetch(server.url + path, { method, headers, body: body?.data });
  const bytes = Buffer.from(await response.arrayBuffer());
  const text = bytes.toString('utf8');
  let json: unknown = undefined;
  // A HEAD answer says JSON but carries no body.
  if (text && response.headers.get('content-type')?.includes('json')) json = JSON.parse(text);
  return { status: response.status, headers: response.headers, bytes, text, json };
}

/** Follows nextCursor to the end and returns every item, checking that pages are not empty. */
export async function collectPages<T = any>(api: Api, path: string, limit: number): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const separator = path.includes('?') ? '&' : '?';
    const url: string = `${path}${separator}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const res: { status: number; body: any } = await api('GET', url);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.items.length).toBeGreaterThan(0);
    expect(res.body.items.length).toBeLessThanOrEqual(limit);
    items.push(...res.body.items);
    cursor = res.body.nextCursor;
    pages++;
    expect(pages).toBeLessThan(1000);
  } while (cursor);
  return { items, pages };
}
