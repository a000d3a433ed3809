import * as Y from 'yjs';
import { applyTextChange } from '../common/text-diff.js';

/**
 * Three-way merge of two edits of the same base text, with Yjs as the merge engine: both edits
 * become minimal ops on two replicas of the base, and the replicas are merged. Used when a
 * disk edit and a remote edit of one file meet before either reached the other side, so
 * that both survive (invariant 1).
 */
export function mergeText(base: string, ours: string, theirs: string): string {
  if (ours === base || ours === theirs) return theirs;
  if (theirs === base) return ours;
  // Named, so Y.Doc draws no random guid.
  const left = new Y.Doc({ guid: 'merge-left' });
  left.getText('t').insert(0, base);
  const right = new Y.Doc({ guid: 'merge-right' });
  Y.applyUpdate(right, Y.encodeStateAsUpdate(left));
  applyTextChange(left.getText('t'), base, ours);
  applyTextChange(right.getText('t'), base, theirs);
  Y.applyUpdate(left, Y.encodeStateAsUpdate(right, Y.encodeStateVector(left)));
  const merged = left.getText('t').toString();
  left.destroy();
  right.destroy();
  return merged;
}
