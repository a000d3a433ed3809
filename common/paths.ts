// Where codeshare keeps its files. CODESHARE_HOME puts everything under one folder (tests
// use one per simulated user); otherwise the XDG config, state and data folders are used.
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface CodesharePaths {
  /** config.json and credentials.json (mode 0600). */
  configDir: string;
  /** The daemon's socket, log, per-folder stores and join backups. */
  stateDir: string;
  /** The embedded server database, unless --data-dir says otherwise. */
  dataDir: string;
}

export function codesharePaths(env: NodeJS.ProcessEnv = process.env): CodesharePaths {
  const home = env.CODESHARE_HOME;
  if (home) return { configDir: home, stateDir: join(home, 'state'), dataDir: join(home, 'data') };
  const userHome = homedir();
  return {
    configDir: join(env.XDG_CONFIG_HOME || join(userHome, '.config'), 'codeshare'),
    stateDir: join(env.XDG_STATE_HOME || join(userHome, '.local', 'state'), 'codeshare'),
    dataDir: join(env.XDG_DATA_HOME || join(userHome, '.local', 'share'), 'codeshare'),
  };
}
