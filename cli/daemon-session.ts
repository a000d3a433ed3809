// The daemon a command talks to: this home's, started on demand.
import { codesharePaths } from '../common/paths.js';
import { ControlClient, DaemonError, connectIfRunning, ensureDaemon } from '../common/control-client.js';
import { CliError } from './errors.js';

export const stateDir = () => codesharePaths().stateDir;

export async function daemonClient(): Promise<{ client: ControlClient; started: boolean }> {
  try {
    return await ensureDaemon(stateDir());
  } catch (err) {
    throw new CliError(err instanceof Error ? err.message : String(err));
  }
}

export const runningDaemon = () => connectIfRunning(stateDir());

/** Runs a daemon call, turning its error into one the CLI shows as it is. */
export async function callDaemon<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof DaemonError) throw new CliError(err.message);
    throw err;
  }
}
