// What a daemon shows of presence: a file that was deleted is nobody's current file.
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { Awareness, applyAwarenessUpdate, encodeAwarenessUpdate } from 'y-protocols/awareness';
import { FolderPresence } from '../../daemon/folder-presence.js';

describe('FolderPresence', () => {
  it("shows no current file for a peer whose file was deleted, and clears this user's own", () => {
    const shared = new Set(['src/app.ts', 'src/gone.ts']);
    const mine = new Awareness(new Y.Doc());
    const presence = new FolderPresence(mine, 'alice', (path) => shared.has(path));
    presence.announce('main');
    const bob = new Awareness(new Y.Doc());
    bob.setLocalState({ user: { name: 'bob' }, file: 'src/gone.ts', branch: 'main' });
    applyAwarenessUpdate(mine, encodeAwarenessUpdate(bob, [bob.clientID]), 'server');
    expect(presence.peers()).toMatchObject([{ name: 'bob', file: 'src/gone.ts' }]);
    shared.delete('src/gone.ts');
    expect(presence.peers()).toMatchObject([{ name: 'bob', file: null }]);

    presence.working('src/app.ts');
    expect(mine.getLocalState()).toMatchObject({ file: 'src/app.ts' });
    presence.gone('src/other.ts');
    expect(mine.getLocalState()).toMatchObject({ file: 'src/app.ts' });
    presence.gone('src/app.ts');
    expect(mine.getLocalState()).toMatchObject({ file: null });
    presence.stop();
    mine.destroy();
    bob.destroy();
  });
});
