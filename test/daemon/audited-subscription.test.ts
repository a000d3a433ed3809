// The native watcher's audit (audited-subscription.ts): an event @parcel/watcher's first
// subscription dropped, and only its second saw, still reaches the daemon, once. The drop itself
// is a race inside @parcel/watcher that no test can bring about on demand, so @parcel/watcher is
// played here by a stand-in that hands each subscription the batches the test chooses; the real
// one is under test in disk-watcher.test.ts.
import type { AsyncSubscription, Event, Options, SubscribeCallback } from '@parcel/watcher';
import pino from 'pino';
import { afterEach, expect, it } from 'vitest';
import { IgnoreRules } from '../../common/ignore-rules.js';
import { NativeWatcher } from '../../daemon/native-watcher.js';
import type { DiskEvent } from '../../daemon/disk-watcher.js';
import { eventually } from '../helpers/eventually.js';
import { makeTempFolder } from './temp-folders.js';

type Parcel = typeof import('@parcel/watcher');

class StandInParcel {
  readonly subscriptions: { callback: SubscribeCallback; options: Options | undefined; live: boolean }[] = [];

  subscribe = async (_dir: string, callback: SubscribeCallback, options?: Options): Promise<AsyncSubscription> => {
    const subscription = { callback, options, live: true };
    this.subscriptions.push(subscription);
    return { unsubscribe: async () => void (subscription.live = false) };
  };

  /** One moment's batch, as each of the root's two subscriptions would be handed it. */
  deliver(first: Event[], audit: Event[]): void {
    const [primary, second] = this.subscriptions;
    primary!.callback(null, first);
    second!.callback(null, audit);
  }
}

let watcher: NativeWatcher | null = null;
afterEach(async () => {
  await watcher?.close();
  watcher = null;
});

async function watchWith(parcel: StandInParcel): Promise<{ root: string; events: DiskEvent[] }> {
  const root = await makeTempFolder('audit');
  watcher = new NativeWatcher(parcel as unknown as Parcel, root, await IgnoreRules.load(root), pino({ level: 'silent' }), 16_384);
  const events: DiskEvent[] = [];
  watcher.on('event', (event) => events.push(event));
  await watcher.start();
  return { root, events };
}

const changed = (events: DiskEvent[], path: string) => events.filter((e) => e.type === 'changed' && e.path === path).length;

it('subscribes the root twice, the second time with an ignore list of its own, so @parcel/watcher keeps two event lists', async () => {
  const parcel = new StandInParcel();
  await watchWith(parcel);
  expect(parcel.subscriptions).toHaveLength(2);
  expect(parcel.subscriptions[1]!.options?.ignore).not.toEqual(parcel.subscriptions[0]!.options?.ignore);
});

it('reports a save that only the audit saw, and the saves both saw once each', async () => {
  const parcel = new StandInParcel();
  const { root, events } = await watchWith(parcel);
  const at = (path: string, type: Event['type'] = 'update'): Event => ({ path: `${root}/${path}`, type });

  parcel.deliver([at('from-alice.txt', 'create')], [at('from-alice.txt', 'create'), at('keep.txt')]);
  await eventually(() => expect(changed(events, 'keep.txt')).toBe(1), 5_000, 20);
  expect(changed(events, 'from-alice.txt')).toBe(1);

  // Nothing dropped: nothing said twice. A drop after them is settled no earlier than they are,
  // so once it is reported, anything they would have brought has been said.
  parcel.deliver([at('notes.txt')], [at('notes.txt')]);
  parcel.deliver([at('notes.txt'), at('other.txt')], [at('notes.txt'), at('other.txt')]);
  parcel.deliver([], [at('marker.txt')]);
  await eventually(() => expect(changed(events, 'marker.txt')).toBe(1), 5_000, 20);
  expect(changed(events, 'notes.txt')).toBe(2);
  expect(changed(events, 'other.txt')).toBe(1);
  expect(changed(events, 'keep.txt')).toBe(1);
});

it('reports a removal that only the audit saw', async () => {
  const parcel = new StandInParcel();
  const { root, events } = await watchWith(parcel);
  parcel.deliver([], [{ path: `${root}/doomed.txt`, type: 'delete' }]);
  await eventually(() => expect(events).toContainEqual({ type: 'removed', path: 'doomed.txt' }), 5_000, 20);
});

it('stops both subscriptions when it closes', async () => {
  const parcel = new StandInParcel();
  await watchWith(parcel);
  await watcher!.close();
  watcher = null;
  expect(parcel.subscriptions.map((s) => s.live)).toEqual([false, false]);
});
