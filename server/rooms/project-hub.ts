// Presence of one project: who is connected, their awareness (user, colour, current file,
// branch, activity), and the collaboration session rows that record joins and leaves.
//
// Across instances (DESIGN.md, Scale-out) each instance holds the states of every client in
// the project, its own and the others' (through the fan-out). It publishes only its own
// clients' changes; a new hub asks the others for theirs; an instance gone takes its clients'
// states with it. Who a state belongs to is written here from the connection's token, and a
// client id another user already uses is refused, so nobody appears as someone else.
import type { Kysely } from 'kysely';
import type { FastifyBaseLogger as Logger } from 'fastify';
import { Awareness, applyAwarenessUpdate, encodeAwarenessUpdate, removeAwarenessStates } from 'y-protocols/awareness';
import * as Y from 'yjs';
import type { Database } from '../../db/schema.js';
import { closeParticipant, openParticipant } from '../repos/sessions.js';
import { readAwarenessUpdate, stampIdentity, writeAwarenessUpdate } from './awareness-entries.js';
import type { Fanout, FanoutMessage } from './fanout.js';

export interface PresenceMember {
  readonly userId: string;
  readonly username: string;
  /** Awareness client ids this connection controls, removed when it drops. */
  readonly awarenessClients: Set<number>;
  sendAwareness(update: Uint8Array): void;
}

/** The origin of states applied from another instance. */
class RemoteInstance {
  constructor(readonly instanceId: string) {}
}

/** Who controls a client id's state: a connection here, or a client of another instance. */
interface StateOwner {
  userId: string;
  member: PresenceMember | null;
  instanceId: string;
}

interface HubContext {
  db: Kysely<Database>;
  fanout: Fanout;
  instanceId: string;
  log: Logger;
}

export class ProjectHub {
  readonly awareness: Awareness;
  readonly members = new Set<PresenceMember>();
  private readonly participants = new Map<PresenceMember, Promise<string | null>>();
  private readonly owners = new Map<number, StateOwner>();
  private following = false;
  private destroyed = false;

  constructor(
    readonly projectId: string,
    private readonly ctx: HubContext,
  ) {
    this.awareness = new Awareness(new Y.Doc());
    // The server is not a participant: it holds others' states, not one of its own.
    this.awareness.setLocalState(null);
    this.awareness.on('update', (change: AwarenessChange, origin: unknown) => this.onUpdate(change, origin));
    // The other instances' clients: read their stream, then ask for their current states.
    ctx.fanout.follow(projectId).then(
      () => {
        if (this.destroyed) return ctx.fanout.unfollow(projectId);
        this.following = true;
        ctx.fanout.publish({ kind: 'presence-query', instanceId: ctx.instanceId, projectId });
        // States that arrived meanwhile were not published yet.
        this.answerQuery();
      },
      (err: unknown) => ctx.log.warn({ err }, "following the project's presence on other instances failed"),
    );
  }

  private onUpdate({ added, updated, removed }: AwarenessChange, origin: unknown): void {
    const member = origin && typeof origin === 'object' && 'awarenessClients' in origin ? (origin as PresenceMember) : null;
    const remote = origin instanceof RemoteInstance ? origin : null;
    const ownChanged: number[] = [];
    for (const id of [...added, ...updated]) {
      const previous = this.owners.get(id);
      if (previous?.member && previous.member !== member) previous.member.awarenessClients.delete(id);
      if (member) {
        member.awarenessClients.add(id);
        this.owners.set(id, { userId: member.userId, member, instanceId: this.ctx.instanceId });
        ownChanged.push(id);
      } else if (remote) {
        const user = (this.awareness.getStates().get(id) as { user?: { id?: unknown } } | undefined)?.user;
        this.owners.set(id, { userId: typeof user?.id === 'string' ? user.id : '', member: null, instanceId: remote.instanceId });
      }
    }
    for (const id of removed) {
      const owner = this.owners.get(id);
      if (owner?.instanceId === this.ctx.instanceId) ownChanged.push(id);
      owner?.member?.awarenessClients.delete(id);
      this.owners.delete(id);
    }
    const changed = [...added, ...updated, ...removed];
    const update = encodeAwarenessUpdate(this.awareness, changed);
    for (const other of this.members) if (other !== origin) other.sendAwareness(update);
    if (ownChanged.length > 0 && !remote && origin !== 'timeout') this.publish(ownChanged);
  }

  private publish(clientIds: number[]): void {
    if (!this.following || clientIds.length === 0) return;
    this.ctx.fanout.publish({ kind: 'awareness', instanceId: this.ctx.instanceId, projectId: this.projectId, update: encodeAwarenessUpdate(this.awareness, clientIds) });
  }

  join(member: PresenceMember, client: string): void {
    this.members.add(member);
    const states = [...this.awareness.getStates().keys()];
    if (states.length > 0) member.sendAwareness(encodeAwarenessUpdate(this.awareness, states));
    this.participants.set(
      member,
      openParticipant(this.ctx.db, this.projectId, member.userId, client, this.ctx.instanceId).catch((err: unknown) => {
        this.ctx.log.warn({ err }, 'recording a session participant failed');
        return null;
      }),
    );
  }

  /**
   * A client's awareness update, with the connection's identity written into each state.
   * States of a client id another user controls are dropped. Throws on a malformed update;
   * the caller refuses the frame.
   */
  applyAwareness(member: PresenceMember, update: Uint8Array): void {
    const entries = readAwarenessUpdate(update);
    const allowed = entries.filter((entry) => {
      const owner = this.owners.get(entry.clientId);
      return !owner || owner.userId === member.userId;
    });
    if (allowed.length < entries.length) {
      this.ctx.log.warn({ user: member.username, refused: entries.length - allowed.length }, "presence states for another user's client ids refused");
    }
    if (allowed.length === 0) return;
    const user = { id: member.userId, name: member.username };
    const stamped = allowed.map((entry) => ({ ...entry, state: entry.state && stampIdentity(entry.state, user) }));
    applyAwarenessUpdate(this.awareness, writeAwarenessUpdate(stamped), member);
  }

  /** States another instance published for its own clients (stamped there). */
  applyRemote(instanceId: string, update: Uint8Array): void {
    applyAwarenessUpdate(this.awareness, update, new RemoteInstance(instanceId));
  }

  /** Another instance asks for this project's presence: this instance's own clients answer. */
  answerQuery(): void {
    this.publish([...this.owners].filter(([, owner]) => owner.instanceId === this.ctx.instanceId).map(([id]) => id));
  }

  /** An instance stopped or died: its clients are no longer here. */
  removeInstance(instanceId: string): void {
    const gone = [...this.owners].filter(([, owner]) => owner.instanceId === instanceId).map(([id]) => id);
    if (gone.length > 0) removeAwarenessStates(this.awareness, gone, 'instance-gone');
  }

  leave(member: PresenceMember): void {
    this.members.delete(member);
    if (member.awarenessClients.size > 0) removeAwarenessStates(this.awareness, [...member.awarenessClients], 'left');
    const participant = this.participants.get(member);
    this.participants.delete(member);
    void participant?.then((id) =>
      id ? closeParticipant(this.ctx.db, id).catch((err: unknown) => this.ctx.log.warn({ err }, 'closing a session participant failed')) : undefined,
    );
  }

  destroy(): void {
    this.destroyed = true;
    if (this.following) this.ctx.fanout.unfollow(this.projectId);
    this.following = false;
    this.awareness.destroy();
  }
}

interface AwarenessChange {
  added: number[];
  updated: number[];
  removed: number[];
}

/** One hub per project with connections here; dropped when the last one leaves. */
export class ProjectHubs {
  private readonly hubs = new Map<string, ProjectHub>();
  private readonly unsubscribe: () => void;

  constructor(private readonly ctx: HubContext) {
    this.unsubscribe = ctx.fanout.subscribe((message) => this.onFanout(message));
  }

  private onFanout(message: FanoutMessage): void {
    if (message.instanceId === this.ctx.instanceId) return;
    if (message.kind === 'instance-gone') {
      this.removeInstance(message.instanceId);
      return;
    }
    if (message.kind !== 'awareness' && message.kind !== 'presence-query') return;
    const hub = this.hubs.get(message.projectId);
    if (!hub) return;
    try {
      if (message.kind === 'awareness') hub.applyRemote(message.instanceId, message.update);
      else hub.answerQuery();
    } catch (err) {
      this.ctx.log.warn({ err, projectId: message.projectId }, 'presence from another instance could not be applied');
    }
  }

  /** An instance stopped or died: its clients leave every project's presence here. */
  removeInstance(instanceId: string): void {
    for (const hub of this.hubs.values()) hub.removeInstance(instanceId);
  }

  join(projectId: string, member: PresenceMember, client: string): ProjectHub {
    let hub = this.hubs.get(projectId);
    if (!hub) {
      hub = new ProjectHub(projectId, { ...this.ctx, log: this.ctx.log.child({ projectId }) });
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

  close(): void {
    this.unsubscribe();
  }
}
