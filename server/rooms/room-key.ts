// The key of one doc in maps that hold docs of many projects (loaded rooms, batched stores).
// It lives apart from Room and DocStore because both key by it, and neither should import
// the other to do so. NUL cannot occur in a project id, so no two docs share a key.
export const roomKey = (projectId: string, docName: string) => `${projectId}\u0000${docName}`;
