// Every error the API answers with is created here, so codes, messages and HTTP statuses
// stay consistent. The wire shape is always { error: { code, message } }.
export class AppError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly statusCode: number,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const createError = (code: string, message: string, statusCode: number) =>
  new AppError(code, message, statusCode);

export const errors = {
  unauthorized: (message = 'Sign in first: run `codeshare auth login`, or send a valid token in the Authorization: Bearer header') =>
    createError('CS_ERR_UNAUTHORIZED', message, 401),
  invalidToken: () =>
    createError('CS_ERR_INVALID_TOKEN', 'The token is unknown, revoked or expired: sign in again or create a new token', 401),
  forbidden: (message: string) => createError('CS_ERR_FORBIDDEN', message, 403),
  openAuthDisabled: () =>
    createError('CS_ERR_OPEN_AUTH_DISABLED', 'Open sign-in is turned off on this server: sign in with GitHub instead', 403),
  githubNotConfigured: () =>
    createError('CS_ERR_GITHUB_NOT_CONFIGURED', 'GitHub sign-in is not configured on this server (GITHUB_CLIENT_ID)', 400),
  githubRejected: (message: string) => createError('CS_ERR_GITHUB_REJECTED', message, 401),
  githubUnavailable: (message: string) => createError('CS_ERR_GITHUB_UNAVAILABLE', message, 502),
  projectNotFound: () => createError('CS_ERR_PROJECT_NOT_FOUND', 'Project not found', 404),
  userNotFound: (username: string) => createError('CS_ERR_USER_NOT_FOUND', `No user named ${username}`, 404),
  notFound: (what: string) => createError('CS_ERR_NOT_FOUND', `${what} not found`, 404),
  conflict: (message: string) => createError('CS_ERR_CONFLICT', message, 409),
  badRequest: (message: string) => createError('CS_ERR_BAD_REQUEST', message, 400),
  tooLarge: (message: string) => createError('CS_ERR_TOO_LARGE', message, 413),
  roleRequired: (role: string) =>
    createError('CS_ERR_FORBIDDEN', `This needs the ${role} role in the project`, 403),
  tokenScope: () =>
    createError('CS_ERR_TOKEN_SCOPE', 'This token is limited to one project and cannot do this', 403),
  tokenNotFound: () => createError('CS_ERR_TOKEN_NOT_FOUND', 'Token not found among your tokens', 404),
  memberNotFound: (username: string) =>
    createError('CS_ERR_MEMBER_NOT_FOUND', `${username} is not a member of the project`, 404),
  alreadyMember: (username: string) =>
    createError('CS_ERR_ALREADY_MEMBER', `${username} is already a member of the project: change their role instead`, 409),
  lastOwner: () =>
    createError('CS_ERR_LAST_OWNER', 'A project needs at least one owner: make someone else an owner first', 409),
  invalidCursor: () => createError('CS_ERR_BAD_REQUEST', 'Invalid cursor: pass back the nextCursor of a previous page', 400),
  shuttingDown: () => createError('CS_ERR_SHUTTING_DOWN', 'This server instance is shutting down: connect again (a load balancer sends you to another)', 503),
  storageUnavailable: (what: string) => createError('CS_ERR_STORAGE', `The server could not store ${what}: try again`, 503),
  mediaType: (expected: string) => createError('CS_ERR_MEDIA_TYPE', `Send the body as ${expected}`, 415),
  fileNotFound: (path: string) => createError('CS_ERR_FILE_NOT_FOUND', `No file at ${path} in the project`, 404),
  notText: (path: string, reason: string) => createError('CS_ERR_NOT_TEXT', `${path} has no text content: ${reason}`, 409),
  blobNotFound: (sha256: string) => createError('CS_ERR_BLOB_NOT_FOUND', `No blob ${sha256} in the project: upload it first`, 404),
  hashMismatch: (expected: string, actual: string) =>
    createError('CS_ERR_HASH_MISMATCH', `The body's sha256 is ${actual}, not ${expected}: the upload was corrupted or sent to the wrong address`, 400),
  aiSessionNotFound: () => createError('CS_ERR_AI_SESSION_NOT_FOUND', 'AI chat session not found in this project', 404),
  aiNotConfigured: () =>
    createError(
      'CS_ERR_AI_NOT_CONFIGURED',
      'AI answers are not configured on this server: start it with OPENAI_API_KEY and CODESHARE_AI_MODEL set (and OPENAI_BASE_URL for a provider other than OpenAI)',
      503,
    ),
  aiProviderAuth: (status: number) =>
    createError('CS_ERR_AI_PROVIDER_AUTH', `The AI provider refused the server's API key (${status}): check OPENAI_API_KEY on the server`, 502),
  aiModelNotFound: (model: string) =>
    createError('CS_ERR_AI_MODEL_NOT_FOUND', `The AI provider does not offer the model ${model}: check CODESHARE_AI_MODEL on the server`, 502),
  aiRateLimited: (attempts: number) =>
    createError('CS_ERR_AI_RATE_LIMITED', `The AI provider is rate limiting this server (429, ${attempts} attempts): try again in a minute`, 503),
  aiProviderFailed: (detail: string) => createError('CS_ERR_AI_PROVIDER_FAILED', `The AI provider failed: ${detail}`, 502),
  aiProviderUnreachable: (detail: string) =>
    createError('CS_ERR_AI_PROVIDER_UNREACHABLE', `Cannot reach the AI provider: ${detail}; check OPENAI_BASE_URL on the server`, 502),
  aiTimeout: (detail: string) => createError('CS_ERR_AI_TIMEOUT', `The AI provider ${detail}`, 504),
  aiInterrupted: (detail: string) => createError('CS_ERR_AI_INTERRUPTED', `The answer broke off: ${detail}`, 502),
  gitNotFound: () => createError('CS_ERR_GIT_NOT_FOUND', 'No git repository is recorded for this project yet', 404),
};
