import { randomBytes } from 'node:crypto';
import {
  linkSync,
  lstatSync,
  readFileSync,
  realpathSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { DaemonError } from './daemon-error.js';
import { ConfigError } from './config.js';

/**
 * The daemon's lock file, which is also how the CLI finds it (its API URL). The daemon writes and
 * deletes only a file it made: it is created whole under its own name (written to a temporary file,
 * then hard-linked, which fails if anything is there) and replaced or removed only while it still
 * carries this daemon's nonce. A file at that path that is not a cardpost lock is never touched.
 */

/** What the CLI reads to find a running daemon. */
export interface DaemonInfo {
  pid: number;
  url: string;
  terminalId: string;
  startedAt: number;
}

/** The lock file's content: DaemonInfo, plus what makes it unmistakably a cardpost lock and whose it is. */
export interface LockContent extends DaemonInfo {
  kind: typeof LOCK_KIND;
  /** Random per start: the daemon removes or rewrites the file only while it still holds this. */
  nonce: string;
  /** The owner's start time (Linux /proc starttime) and boot id: a pid reused after kill -9 or a reboot is not the owner. */
  procStart: string | null;
  bootId: string | null;
}

export const LOCK_KIND = 'cardpost-daemon-lock';

/** Lock files this process holds, with their nonce (a second Daemon in the same process is refused too). */
const HELD = new Map<string, string>();

const dirOf = (file: string) => dirname(file);

/** Linux: the process's start time in clock ticks since boot (field 22 of /proc/PID/stat); elsewhere null. */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null; // after "(comm) ": field 3 is index 0
  } catch {
    return null;
  }
}

function bootId(): string | null {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return null;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether the process that wrote a lock still runs. A live pid is not enough: after kill -9 the pid
 * may have been given to another process (or the machine rebooted), so the start time and boot id
 * recorded in the lock must match too, where the system lets us read them.
 */
export function lockOwnerAlive(c: Pick<LockContent, 'pid' | 'procStart' | 'bootId'>): boolean {
  if (!Number.isSafeInteger(c.pid) || c.pid <= 0 || !pidAlive(c.pid)) return false;
  const boot = bootId();
  if (c.bootId && boot && c.bootId !== boot) return false;
  const start = processStartTime(c.pid);
  if (c.procStart && start && c.procStart !== start) return false;
  return true;
}

/** The lock's content if `text` is a cardpost lock file, else undefined. */
export function parseLock(text: string): LockContent | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  const c = v as Partial<LockContent> | null;
  if (
    !c ||
    typeof c !== 'object' ||
    c.kind !== LOCK_KIND ||
    typeof c.nonce !== 'string' ||
    typeof c.pid !== 'number' ||
    typeof c.url !== 'string'
  )
    return undefined;
  return { procStart: null, bootId: null, terminalId: '', startedAt: 0, ...c } as LockContent;
}

type Existing = { state: 'absent' } | { state: 'lock'; content: LockContent; text: string } | { state: 'foreign' };

function readExisting(file: string): Existing {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'absent' };
    return { state: 'foreign' }; // a directory, unreadable: not ours
  }
  const content = parseLock(text);
  return content ? { state: 'lock', content, text } : { state: 'foreign' };
}

/** Write `content` whole to a fresh temporary file next to `file` (never an existing one). */
function writeTemp(file: string, content: LockContent): string {
  const tmp = join(dirOf(file), `.${basename(file)}.${process.pid}.${content.nonce}.tmp`);
  writeFileSync(tmp, JSON.stringify(content) + '\n', { flag: 'wx', mode: 0o600 });
  return tmp;
}

const running = (file: string, pid: number) =>
  new DaemonError(
    'DAEMON_RUNNING',
    `a cardpost daemon (pid ${pid}) already uses ${dirOf(file)}`,
    'stop it first, or give this one another data directory',
  );

/**
 * One daemon per data directory. A lock left by a daemon that is gone (its pid dead or reused) is
 * taken over; a live one refuses with DAEMON_RUNNING; anything at the path that is not a cardpost lock
 * refuses with DAEMON_LOCK_FOREIGN and is left exactly as it is.
 */
export function takeLock(file: string, legacyInfoFile?: string): void {
  if (HELD.has(file)) {
    throw new DaemonError(
      'DAEMON_RUNNING',
      `a cardpost daemon in this process already uses ${dirOf(file)}`,
      'stop it first, or give this one another data directory',
    );
  }
  refuseLegacyDaemon(legacyInfoFile);
  const content: LockContent = {
    kind: LOCK_KIND,
    nonce: randomBytes(16).toString('hex'),
    pid: process.pid,
    procStart: processStartTime(process.pid),
    bootId: bootId(),
    url: '',
    terminalId: '',
    startedAt: Date.now(),
  };
  for (let attempt = 0; attempt < 2; attempt++) {
    const tmp = writeTemp(file, content);
    try {
      linkSync(tmp, file); // atomic: fails with EEXIST if anything is at the path
      HELD.set(file, content.nonce);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    } finally {
      try {
        unlinkSync(tmp);
      } catch {
        /* gone already */
      }
    }
    const existing = readExisting(file);
    if (existing.state === 'foreign') {
      throw new DaemonError(
        'DAEMON_LOCK_FOREIGN',
        `${file} exists and is not a cardpost lock file; the daemon never overwrites a file it did not make`,
        'move that file elsewhere (or set another dataDir), then start the daemon again',
      );
    }
    if (existing.state === 'lock') {
      const other = existing.content;
      if (other.pid !== process.pid && lockOwnerAlive(other)) throw running(file, other.pid);
      // Stale: remove it only if it is still the very file just read (another starter may have replaced it).
      if (readExisting(file).state === 'lock' && readFileSync(file, 'utf8') === existing.text) {
        try {
          unlinkSync(file);
        } catch {
          /* raced with another starter; the next attempt decides */
        }
      }
    }
  }
  throw new DaemonError(
    'DAEMON_RUNNING',
    `another cardpost daemon is starting in ${dirOf(file)}`,
    'wait, then try again',
  );
}

/**
 * A daemon of an older cardpost kept its lock in `daemon.json` ({pid, url, ...}): while one of those
 * runs on this directory, refuse. Only read, never written or removed (it may be a config file).
 */
function refuseLegacyDaemon(file: string | undefined): void {
  if (!file) return;
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return;
  }
  const o = v as Record<string, unknown> | null;
  if (!o || typeof o !== 'object' || typeof o.pid !== 'number' || typeof o.url !== 'string') return;
  if (!Object.keys(o).every((k) => ['pid', 'url', 'terminalId', 'startedAt', 'starting'].includes(k))) return;
  if (o.pid !== process.pid && pidAlive(o.pid)) {
    throw new DaemonError(
      'DAEMON_RUNNING',
      `an older cardpost daemon (pid ${o.pid}, per ${file}) may still use ${dirOf(file)}`,
      `stop it first; if no cardpost daemon runs, delete ${file} (the old lock file)`,
    );
  }
}

/** Put the running daemon's URL in its lock (replaced whole), if the lock is still its own. */
export function publishInfo(file: string, info: DaemonInfo): void {
  const nonce = HELD.get(file);
  const existing = readExisting(file);
  if (nonce === undefined || existing.state !== 'lock' || existing.content.nonce !== nonce) {
    throw new DaemonError(
      'DAEMON_LOCK_LOST',
      `the lock file ${file} is no longer this daemon's`,
      'another process replaced it: stop the other daemon, then start this one again',
    );
  }
  const tmp = writeTemp(file, { ...existing.content, ...info, pid: process.pid });
  try {
    renameSync(tmp, file);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      /* gone */
    }
    throw e;
  }
}

/** At stop: remove the lock only if it still carries this daemon's nonce; anything else stays. */
export function releaseLock(file: string): void {
  const nonce = HELD.get(file);
  if (nonce === undefined) return;
  HELD.delete(file);
  const existing = readExisting(file);
  if (existing.state === 'lock' && existing.content.nonce === nonce) {
    try {
      unlinkSync(file);
    } catch {
      /* already gone */
    }
  }
}

/** The running daemon described by the lock file, or undefined when there is none (no file, not a lock, owner gone, not started yet). */
export function readDaemonInfo(file: string): DaemonInfo | undefined {
  const existing = readExisting(file);
  if (existing.state !== 'lock') return undefined;
  const c = existing.content;
  if (!c.url || !lockOwnerAlive(c)) return undefined;
  return { pid: c.pid, url: c.url, terminalId: c.terminalId, startedAt: c.startedAt };
}

/** Same file: the same real path, or (hard links) the same device and inode. */
function sameFile(a: string, b: string): boolean {
  let ra: string, rb: string;
  try {
    ra = realpathSync(a);
    rb = realpathSync(b);
  } catch {
    return false;
  }
  if (ra === rb) return true;
  try {
    const sa = statSync(ra),
      sb = statSync(rb);
    return sa.dev === sb.dev && sa.ino === sb.ino;
  } catch {
    return false;
  }
}

/**
 * Refuse to start when one of the daemon's data files (made, rewritten or deleted by it) would be the
 * config file it was started with: e.g. a config named like the lock in the data directory, or a
 * symlink or hard link from a data file to it. Paths are compared after resolving symlinks.
 */
export function refuseConfigCollision(dataDir: string, names: readonly string[], configFile: string | undefined): void {
  if (!configFile) return;
  let realConfig: string;
  try {
    realConfig = realpathSync(configFile);
  } catch {
    return;
  } // loaded a moment ago; gone now: nothing to protect
  let realDir: string;
  try {
    realDir = realpathSync(dataDir);
  } catch {
    realDir = dataDir;
  }
  for (const name of names) {
    const candidate = join(realDir, name);
    let exists = true;
    try {
      lstatSync(candidate);
    } catch {
      exists = false;
    }
    if (candidate === realConfig || (exists && sameFile(candidate, realConfig))) {
      throw new ConfigError(
        'CONFIG_DATA_FILE_COLLISION',
        `the daemon's data file ${join(dataDir, name)} would be its own config file ${configFile}; the daemon would overwrite or delete it`,
        `give dataDir its own directory (e.g. "dataDir": "./data"), or rename the config file (not ${names.join(', ')})`,
      );
    }
  }
}
