// Where a folder's replaced versions go before codeshare overwrites them: a join that finds
// local files differing from the project, a resume that sends (or undoes) a held burst. One
// folder per occasion under the state folder's backups/, named by time and project; nothing in
// it is ever deleted by codeshare.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../common/atomic-write.js';

export class BackupFolder {
  readonly dir: string;
  /** Whether anything was saved (the folder exists only then). */
  used = false;

  constructor(stateDir: string, projectName: string, reason: string, now = new Date()) {
    const name = projectName.replace(/[^A-Za-z0-9._-]/g, '_');
    this.dir = join(stateDir, 'backups', `${now.toISOString().replace(/[:.]/g, '-')}-${name}${reason ? `-${reason}` : ''}`);
  }

  /**
   * Saves the bytes a path held; returns where. Written whole or not at all (a daemon killed
   * mid-join left empty backups): the file it saves is replaced only after this returns.
   */
  async save(path: string, bytes: Uint8Array, mode = 0o644): Promise<string> {
    await mkdir(this.dir, { recursive: true });
    await writeFileAtomic(this.dir, path, bytes, { mode });
    this.used = true;
    return join(this.dir, path);
  }
}
