// Edit propagation in a 40,000-file project: the same edits and measures as propagation.ts,
// among 40,000 files nobody edits (DESIGN.md, Scale: one edit costs what the edit is, not what
// the project holds).
import { runPropagation } from './propagation.js';

export default { name: 'Edit propagation in a 40,000-file project', run: () => runPropagation(40_000) };
