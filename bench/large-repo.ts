// Share and join of a large repository: 40,000 small text files (a few hundred bytes to a few
// KB) in nested folders, 2% binaries, against git clone of the same tree, with the daemons'
// memory read 30 s after join (DESIGN.md, Scale: memory follows activity, not repository size).
// The same bench as share-join.ts, with another tree.
import { runShareJoin, type TreeShape } from './share-join.js';

export const SMALL_40K: TreeShape = { files: 40_000, folders: 2500, largeTextShare: 0, binaryShare: 0.02, smallText: [300, 4 * 1024], settleMs: 30_000 };

export default { name: 'Share and join a 40,000-file tree of small files', run: () => runShareJoin(SMALL_40K) };
