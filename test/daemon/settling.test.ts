import { describe, expect, it } from 'vitest';
import { SETTLE_MAX_MS, SETTLE_QUIET_MS, noteEvent, settleVerdict, type Settling } from '../../daemon/settling.js';

const at = (firstSeen: number, lastEvent: number): Settling => ({ firstSeen, lastEvent });

describe('settling of new paths', () => {
  const cases: Array<[string, Settling | undefined, number, ReturnType<typeof settleVerdict>]> = [
    ['never reported by the watcher (found by a scan): shared at once', undefined, 1_000, { settled: true }],
    ['just reported: waits the whole quiet window', at(1_000, 1_000), 1_000, { settled: false, recheckInMs: SETTLE_QUIET_MS }],
    ['reported 100 ms ago: waits the rest of the window', at(1_000, 1_000), 1_100, { settled: false, recheckInMs: SETTLE_QUIET_MS - 100 }],
    ['quiet for exactly the window: settled', at(1_000, 1_000), 1_000 + SETTLE_QUIET_MS, { settled: true }],
    ['quiet for longer than the window: settled', at(1_000, 1_000), 5_000, { settled: true }],
    ['changed again since: the window counts from the last event', at(1_000, 1_250), 1_300, { settled: false, recheckInMs: SETTLE_QUIET_MS - 50 }],
    ['still changing near the deadline: waits only until the deadline', at(1_000, 1_000 + SETTLE_MAX_MS - 10), 1_000 + SETTLE_MAX_MS - 10, { settled: false, recheckInMs: 10 }],
    ['still changing at the deadline (a log being appended): settled', at(1_000, 1_000 + SETTLE_MAX_MS), 1_000 + SETTLE_MAX_MS, { settled: true }],
  ];
  for (const [name, settling, now, verdict] of cases) {
    it(name, () => expect(settleVerdict(settling, now)).toEqual(verdict));
  }

  it('an event starts a record, a later one moves only its last event', () => {
    const first = noteEvent(undefined, 10);
    expect(first).toEqual({ firstSeen: 10, lastEvent: 10 });
    expect(noteEvent(first, 40)).toEqual({ firstSeen: 10, lastEvent: 40 });
  });
});
