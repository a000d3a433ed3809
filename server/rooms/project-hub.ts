// Presence of one project: who is connected, their awareness (user, colour, current file,
// branch, activity), and the collaboration session rows that record joins and leaves.
import type { Kysely } from 'kysely';
import type { FastifyBaseLogger as Logger } from 'fastify';
import { Awareness, applyAwarenessUpdate, encodeAwarenessUpdate, removeAwarenessStates } from 'y-protocols/awareness';
import * as Y from 'yjs';
import type { Database } from '../../db/schema.js';
import { closeParticipant, openParticipant } from '../repos/sessions.js';

export interface PresenceMember {
  readonly userId: string;
  /** Awareness client ids this connection controls, removed when it drops. */
  readonly awarenessClients: Set<number>;
  sendAwareness(update: Uint8Array): void;
}

export class ProjectHub {
  readonly awareness: Awareness;
  readonly members = new Set<PresenceMember>();
  private readonly participants = new Map<PresenceMember, Promise<string | null>>();

  constructor(
    readonly projectId: string,
    private readonly db: Kysely<Database>,
    private readonly log: Logger,
  ) {
    this.awareness = new Awareness(new Y.Doc());
    // The server is not a participant: it holds others' states, not one of its own.
    this.awareness.setLocalState(null);
    this.awareness.on('update', ({ added, updated, removed }: AwarenessChange, origin: unknown) => {
      const changed = [...added, ...updated, ...removed];
      if (origin && typeof origin === 'object' && 'awarenessClients' in origin) {
        const member = origin as PresenceMember;
        for (const id of added) member.awarenessClients.add(id);
        for (const id of removed) member.awarenessClients.delete(id);
      }
      const update = encodeAwarenessUpdate(this.awareness, changed);
      for (const member of this.members) if (member !== origin) member.sendAwareness(update);
    });
  }

  join(member: PresenceMember, client: string): void {
    this.members.add(member);
    const states = [...this.awareness.getStates().keys()];
    if (states.length > 0) member.sendAwareness(encodeAwarenessUpdate(this.awareness, states));
    this.participants.set(
      member,
      openParticipant(this.db, this.projectId, member.userId, client).catch((err: unknown) => {
        this.log.warn({ err }, 'recording a session participant failed');
        return null;
      }),
    );
  }

  /** Throws on a malformed awareness update; the caller refuses the frame. */
  applyAwareness(member: PresenceMember, update: Uint8Array): void {
    applyAwarenessUpdate(this.awareness, update, member);
  }

  leave(member: PresenceMember): void {
    this.members.delete(member);
    if (member.awarenessClients.size > 0) removeAwarenessStates(this.awareness, [...member.awarenessClients], 'left');
    const participant = this.participants.get(member);
    this.participants.delete(member);
    void participant?.then((id) =>
      id ? closeParticipant(this.db, id).catch((err: unknown) => this.log.warn({ err }, 'closing a session participant failed')) : undefined,
    );
  }

  destroy(): void {
    this.awareness.destroy();
  }
}

interface AwarenessChange {
  added: number[];
  updated: number[];
  removed: number[];
}

/** One hub per project with connections; dropped when the last one leaves. */
export class ProjectHubs {
  private readonly hubs = new Map<string, ProjectHub>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly log: Logger,
  ) {}

  join(projectId: string, member: PresenceMember, client: string): ProjectHub {
    let hub = this.hubs.get(projectId);
    if (!hub) {
      hub = new ProjectHub(projectId, this.db, this.log.child({ projectId }));
      this.hubs.set(projectId, hub);
    }
    hub.join(member, client);
    return hub;
  }

  leave(hub: ProjectHub, member: PresenceMember): void {
    hub.leave(member);
    if (hub.members.size === 0 && this.hubs.get(hub.projectId) === hub) {
      this.hubs.delete(hub.projectId);
      hub.destroy();
    }
  }

  /** Who is online in a project: the awareness states, for REST and tests. */
  states(projectId: string): Record<string, unknown>[] {
    const hub = this.hubs.get(projectId);
    return hub ? [...hub.awareness.getStates().values()] : [];
  }
}
