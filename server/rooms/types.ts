// The small interfaces rooms and connections meet through. Rooms never see a socket library.

/** What a transport must offer: ws sockets are adapted to this in the route. */
export interface WebSocketLike {
  send(data: Uint8Array): void;
  close(code: number, reason: string): void;
  readonly bufferedAmount: number;
}

/** Someone following a doc: receives its updates and the acknowledgements of their own. */
export interface DocSubscriber {
  readonly userId: string;
  sendUpdate(docName: string, update: Uint8Array): void;
  sendPersisted(docName: string, stateVector: Uint8Array): void;
  /** The room failed (storage lost an append): drop the connection so the client resyncs. */
  abort(reason: string): void;
}

export interface RoomLimits {
  /** Unload a doc this long after its last subscriber left. */
  idleUnloadMs: number;
  /** Fold the update log into a snapshot past this many rows or bytes. */
  compactAfterUpdates: number;
  compactAfterBytes: number;
  /**
   * Fold on unload only a log at least this long: loading a few rows costs less than
   * rewriting them (a share of 10,000 files unloaded into 10,000 compactions).
   */
  compactOnUnloadAfterUpdates: number;
}

export interface ConnectionLimits {
  frameBytes: number;
  docsPerConnection: number;
  updatesPerSecond: number;
  updateBurst: number;
}
