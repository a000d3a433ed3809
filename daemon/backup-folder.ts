// Where a folder's replaced versions go before codeshare overwrites them: a join that finds
// local files differing from the project, a resume that sends (or undoes) a held burst. One
// folder per occasion under the state folder's backups/, named by time and project; nothing in
// it is ever deleted by codeshare.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export class BackupFolder {
  readonly dir: string;
  /** Whether anything was saved (the folder exists only then). */
  used = false;

  constructor(stateDir: string, projectName: string, reason: string, now = new Date()) {
    const name = projectName.replace(/[^A-Za-z0-9._-]/g, '_');
    this.dir = join(stateDir, 'backups', `${now.toISOString().replace(/[:.]/g, '-')}-${name}${reason ? `-${reason}` : ''}`);
  }

  /** Saves the bytes a path held; returns where. */
  async save(path: string, bytes: Uint8Array, mode = 0o644): Promise<string> {
    const target = join(this.dir, path);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, bytes, { mode });
    this.used = true;
    return target;
  }
}
