// Follows a synced folder through the daemon's event stream once it is live.
import { useEffect, type Dispatch } from 'react';
import { stateDir } from '../../daemon-session.js';
import { connectIfRunning } from '../../../common/control-client.js';
import type { LiveAction } from '../state/live-reducer.js';

export function useFolderStatus(root: string, live: boolean, me: string, dispatch: Dispatch<LiveAction>): void {
  useEffect(() => {
    if (!live) return;
    let closed = false;
    let close = () => {};
    void connectIfRunning(stateDir()).then(async (client) => {
      if (!client || closed) return client?.close();
      close = () => client.close();
      client.onEvent((event) => dispatch({ type: 'event', event, me }));
      await client.call('subscribe', { root });
      const status = await client.call('status', {});
      const folder = status.folders.find((f) => f.root === root);
      if (folder) dispatch({ type: 'status', status: folder });
    });
    return () => {
      closed = true;
      close();
    };
  }, [live, root]);
}
