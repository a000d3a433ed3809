// The user's decision on a halted burst (`codeshare resume [--restore]`). Resume sends what the
// halt held, as it is, saving the project's versions it replaces in a backup folder first;
// restore gives the held paths the project's version back, saving what the disk held there.
// Either way nothing is lost, and the folders end identical.
import type { ResumeReport } from '../common/control-protocol.js';
import { BackupFolder } from './backup-folder.js';
import type { LocalChange } from './discard-guard.js';
import { entryAt, type FolderParts } from './folder-parts.js';
import type { LocalChanges } from './local-changes.js';
import type { RemoteChanges } from './remote-changes.js';

export type HaltDecisionParts = Pick<FolderParts, 'root' | 'log' | 'index' | 'bases' | 'diskReader' | 'disk' | 'gate' | 'enqueue' | 'forgetBase' | 'activity'>;

export interface HaltDecisionDeps {
  local: LocalChanges;
  remote: RemoteChanges;
  /** Where the backups of this decision go. */
  backups: (label: 'before-restore' | 'before-resume') => BackupFolder;
  /** Why the folder is paused, when a branch switch pauses it. */
  pausedReason: string | null;
  reconcile: () => Promise<void>;
}

export async function decideHalt(parts: HaltDecisionParts, deps: HaltDecisionDeps, { restore }: { restore: boolean }): Promise<ResumeReport> {
  if (!parts.gate.halted) {
    const why = deps.pausedReason ? `: it is paused because it is ${deps.pausedReason}, which ends by itself` : '';
    throw new Error(`${parts.root} holds no changes to decide on${why}`);
  }
  const backups = deps.backups(restore ? 'before-restore' : 'before-resume');
  const report: ResumeReport = { root: parts.root, sent: 0, restored: 0, backup: null };
  const held = parts.gate.release();
  await Promise.all(
    held.map((change) =>
      parts.enqueue(change.path, async () => {
        if (restore && change.effect !== 'edited') {
          await restorePath(parts, deps.remote, change.path, backups);
          report.restored++;
        } else {
          await sendHeld(parts, deps.local, change, backups);
          report.sent++;
        }
      }),
    ),
  );
  report.backup = backups.used ? backups.dir : null;
  parts.log.info({ ...report, restore }, restore ? 'the held burst was undone here' : 'the held burst was sent');
  // What the halt kept from being written (remote changes of held paths, renames) follows now.
  await deps.reconcile();
  return report;
}

/** Sends a held change; what it discards of the project's version is saved first. */
async function sendHeld(parts: HaltDecisionParts, local: LocalChanges, change: LocalChange, backups: BackupFolder): Promise<void> {
  const entry = entryAt(parts.index, change.path);
  if (entry && change.effect !== 'edited') {
    const project = await parts.disk.projectBytes(entry);
    await backups.save(change.path, project.bytes, entry.kind === 'symlink' ? 0o644 : entry.mode);
  }
  if (entry && !(await parts.diskReader.fileAt(change.path))) return local.deleteFromProject(change.path, entry.id);
  return local.applyDiskChange(change.path, undefined, true);
}

/** Writes the project's version of a held path over what the disk holds, saving that first. */
async function restorePath(parts: HaltDecisionParts, remote: RemoteChanges, path: string, backups: BackupFolder): Promise<void> {
  const entry = entryAt(parts.index, path);
  const disk = await parts.diskReader.read(path);
  const wanted = entry ? await parts.disk.projectBytes(entry) : null;
  if (disk?.kind === 'file' && disk.sha256 !== wanted?.sha256) await backups.save(path, disk.bytes, disk.mode);
  if (!entry) {
    // A teammate removed it meanwhile: the project's version is no file.
    if (disk && disk.kind !== 'dir') await parts.disk.removeFile(path);
    if (parts.bases.has(path)) parts.forgetBase(path);
    return;
  }
  if (disk?.kind === 'dir' || !(await remote.clearWayTo(path, false))) return remote.writePath(path);
  await parts.disk.writeEntry(path, entry, wanted!);
  parts.activity('remote', disk ? 'edited' : 'created', path);
}
