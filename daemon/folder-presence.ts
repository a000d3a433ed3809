// This user's presence in the project (who, which branch, which file) and what the teammates'
// presence says: who is online, who likely made a remote change, and the names behind their Yjs
// client ids (see authorship.ts). Presence is the connection's awareness.
import { createHash } from 'node:crypto';
import type { Awareness } from 'y-protocols/awareness';
import type { PeerInfo } from '../common/control-protocol.js';

/** Presence changes of this user's current file go out at most this often. */
const PRESENCE_MS = 250;

interface PresenceState {
  user?: { name?: unknown; color?: string };
  file?: string | null;
  branch?: string | null;
  lastActive?: number;
}

export class FolderPresence {
  private currentFile: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    private readonly awareness: Awareness,
    private readonly username: string,
    /** Whether the project still has the file (a peer's presence may name one deleted since). */
    private readonly exists: (path: string) => boolean = () => true,
  ) {}

  /** Says who this is and which branch the folder is on (a new file is set by working()). */
  announce(branch: string | null): void {
    this.awareness.setLocalState({ user: { name: this.username, color: colorOf(this.username) }, branch, file: null, lastActive: Date.now() });
  }

  /**
   * This user works in `path`. A burst changes thousands of files a second: teammates get the
   * latest at most every PRESENCE_MS, not one awareness frame per file.
   */
  working(path: string): void {
    this.currentFile = path;
    if (this.timer) return;
    const publish = () => {
      const state = this.awareness.getLocalState();
      if (state) this.awareness.setLocalState({ ...state, file: this.currentFile, lastActive: Date.now() });
    };
    publish();
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.stopped) publish();
    }, PRESENCE_MS);
    this.timer.unref();
  }

  /** `path` was deleted: if it was this user's current file, they are in none now. */
  gone(path: string): void {
    if (this.currentFile !== path) return;
    this.currentFile = null;
    const state = this.awareness.getLocalState();
    if (state) this.awareness.setLocalState({ ...state, file: null });
  }

  /** Who else is online. */
  peers(): PeerInfo[] {
    const peers: PeerInfo[] = [];
    for (const [clientId, value] of this.awareness.getStates()) {
      if (clientId === this.awareness.clientID) continue;
      const peer = value as PresenceState;
      if (typeof peer.user?.name === 'string' && peer.user.name) {
        const file = peer.file && this.exists(peer.file) ? peer.file : null;
        peers.push({ name: peer.user.name, color: peer.user.color, file, branch: peer.branch ?? null, lastActive: peer.lastActive });
      }
    }
    return peers;
  }

  /** Who made a remote change: the peer whose presence says they are in that file. */
  likelyAuthor(path: string): string | undefined {
    let best: PeerInfo | undefined;
    for (const peer of this.peers()) {
      if (peer.file === path && (!best || (peer.lastActive ?? 0) > (best.lastActive ?? 0))) best = peer;
    }
    return best?.name;
  }

  /** The name each presence state gives its client id (this user's own included). */
  *names(): Generator<[number, string]> {
    for (const [clientId, state] of this.awareness.getStates()) {
      const name = (state as PresenceState).user?.name;
      if (typeof name === 'string' && name) yield [clientId, name];
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }
}

function colorOf(name: string): string {
  const palette = ['#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#46f0f0', '#f032e6', '#bcf60c'];
  const hash = createHash('sha256').update(name).digest();
  return palette[hash[0]! % palette.length]!;
}
