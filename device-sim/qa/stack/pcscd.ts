import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import type { ProcessRegistry } from '../qa-types.js';
import { TrackedProcess } from './processes.js';
import { QA_ERRORS, qaError, sleep } from './stack-errors.js';
import { which } from './system-tools.js';
import { lockVpcd } from './vpcd-lock.js';
import { VPCD_SETTLE_MS } from './reader-pcsc.js';

/**
 * Real pcscd with vsmartcard's vpcd driver, for the scenario's PC/SC readers. A pcscd already answering
 * on its socket is used as it is (its vpcd slots are 127.0.0.1:35963 and :35964); otherwise the stack
 * starts its own in the foreground with a reader.conf.d of its own and stops it at close().
 */
export const VPCD_DRIVER = '/usr/lib/pcsc/drivers/serial/libifdvpcd.so';
export const VPCD_FIRST_PORT = 35963;
/** vpcd's two slots: at most this many PC/SC readers per scenario. */
export const VPCD_SLOTS = 2;
const PCSCD_SOCKET = '/run/pcscd/pcscd.comm';
const READER_PREFIX = 'cardpost qa vpcd';

export function missingPcscParts(): string[] {
  const missing: string[] = [];
  if (!which('pcscd')) missing.push('pcscd');
  if (!existsSync(VPCD_DRIVER)) missing.push('vsmartcard-vpcd');
  return missing;
}

/** Whether a pcscd answers on its socket (a stale socket file left by a killed one does not). */
export function pcscdAnswers(): Promise<boolean> {
  if (!existsSync(PCSCD_SOCKET)) return Promise.resolve(false);
  return new Promise((resolve) => {
    const s = createConnection(PCSCD_SOCKET);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Whether something listens on the TCP port (from /proc/net: a probe connection would look like a card to vpcd). */
function listening(port: number): boolean {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  const re = new RegExp(`:${hex} [0-9A-F:]+ 0A `);
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6'])
    if (existsSync(f) && re.test(readFileSync(f, 'utf8'))) return true;
  return false;
}

export class Pcscd {
  private constructor(
    /** Ours to stop (undefined: a pcscd that was already running). */
    private readonly process: TrackedProcess | undefined,
    readonly logFile: string | undefined,
    private readonly unlock: () => void,
  ) {}

  get owned(): boolean {
    return this.process !== undefined;
  }

  /** vpcd slot n's TCP port. */
  port(slot: number): number {
    return VPCD_FIRST_PORT + slot;
  }

  static async acquire(dir: string, registry: ProcessRegistry, log: (t: string) => void): Promise<Pcscd> {
    const missing = missingPcscParts();
    if (missing.length > 0)
      throw qaError(
        QA_ERRORS.systemMissing,
        `the scenario has a PC/SC reader, but ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not installed`,
        'install them: apt-get install pcscd vsmartcard-vpcd libpcsclite-dev (or use serial/hid readers only)',
      );
    const unlock = await lockVpcd(120_000, log);
    try {
      return await Pcscd.start(dir, registry, log, unlock);
    } catch (e) {
      unlock();
      throw e;
    }
  }

  private static async start(
    dir: string,
    registry: ProcessRegistry,
    log: (t: string) => void,
    unlock: () => void,
  ): Promise<Pcscd> {
    if (await pcscdAnswers()) {
      log('pcscd already running: using it (vpcd on 127.0.0.1:35963/35964)');
      return new Pcscd(undefined, undefined, unlock);
    }
    const confDir = join(dir, 'pcscd', 'reader.conf.d');
    mkdirSync(confDir, { recursive: true });
    writeFileSync(
      join(confDir, 'vpcd'),
      [
        `FRIENDLYNAME "${READER_PREFIX}"`,
        `DEVICENAME /dev/null:${VPCD_FIRST_PORT}`,
        `LIBPATH ${VPCD_DRIVER}`,
        `CHANNELID ${VPCD_FIRST_PORT}`,
        '',
      ].join('\n'),
    );
    const logFile = join(dir, 'pcscd', 'pcscd.log');
    const lines: string[] = [];
    const p = new TrackedProcess('pcscd', which('pcscd')!, ['--foreground', '--info', '-c', confDir], registry, {
      onLine: (l) => {
        lines.push(l);
        if (lines.length > 200) lines.shift();
      },
    });
    const d = new Pcscd(p, logFile, unlock);
    const deadline = Date.now() + 10_000;
    while (!(await pcscdAnswers()) || !listening(VPCD_FIRST_PORT)) {
      if (Date.now() > deadline || !p.running) {
        await p.stop(500);
        writeFileSync(logFile, lines.join('\n'));
        throw qaError(
          QA_ERRORS.stackFailed,
          `pcscd did not start (${p.running ? 'no vpcd port after 10 s' : 'it exited'}): ${lines.slice(-3).join(' / ') || 'no output'}`,
          `see ${logFile}; is another pcscd starting, or /run/pcscd not writable? (pcscd needs root or the pcscd group)`,
        );
      }
      await sleep(50);
    }
    log(`pcscd started (pid ${p.processId}, vpcd on 127.0.0.1:${VPCD_FIRST_PORT}/${VPCD_FIRST_PORT + 1})`);
    return d;
  }

  async stop(): Promise<void> {
    try {
      if (this.process) await this.process.stop(3000);
      // A pcscd that stays (not ours) keeps the slots: let them settle before the next stack's cards
      // (VPCD_SETTLE_MS, reader-pcsc.ts), which may come at once once the lock is free.
      else await sleep(VPCD_SETTLE_MS);
    } finally {
      this.unlock();
    }
  }
}
