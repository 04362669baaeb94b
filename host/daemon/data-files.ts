import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DaemonError } from './daemon-error.js';
import { readDaemonInfo, type DaemonInfo } from './daemon-lock.js';

/**
 * The files the daemon makes in its data directory. `info` is its lock file, which also tells the CLI
 * where the API is: a name of its own (it was `daemon.json`, the docs' name for the config file, which
 * a daemon with "dataDir": "." overwrote and then deleted).
 */
export const DATA_FILES = {
  db: 'queue.sqlite',
  token: 'api-token',
  info: 'cardpost-daemon.lock',
  revocations: 'revocations.cbor',
  bankClock: 'bank-clock.json',
} as const;

/** What the CLI reads to find the daemon: its info file and token, or a clear error. */
export function findDaemon(dataDir: string): { info: DaemonInfo; token: string } {
  const info = readDaemonInfo(join(dataDir, DATA_FILES.info));
  if (!info) {
    throw new DaemonError(
      'DAEMON_NOT_RUNNING',
      `no cardpost daemon is running for ${dataDir}`,
      'start one with `cardpost daemon` (or `cardpost demo`), or pass --data-dir',
    );
  }
  let token: string;
  try {
    token = readFileSync(join(dataDir, DATA_FILES.token), 'utf8').trim();
  } catch {
    throw new DaemonError(
      'API_TOKEN_UNREADABLE',
      `cannot read the API token in ${dataDir}`,
      "run the CLI as the daemon's user",
    );
  }
  return { info, token };
}
