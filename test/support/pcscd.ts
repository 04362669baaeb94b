import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PcscReaderSource, type PcscCardReader } from '../../host/transports/pcsc/pcsc-reader.js';
import { VPCD_DRIVER, pcscdAnswers } from '../../device-sim/qa/stack/pcscd.js';
import { which } from './system.js';

/**
 * A real pcscd with the vsmartcard vpcd driver, for integration tests. If no pcscd is running,
 * the tests start their own (foreground, with a reader.conf.d of ours: two vpcd slots on
 * 127.0.0.1:35963/35964) and stop it at exit; a pcscd already running is used as it is.
 */
export { VPCD_DRIVER };
export const VPCD_PORT = 35963;
export const READER_PREFIX = 'cardpost vpcd';

export function missingPcscParts(): string[] {
  const missing: string[] = [];
  if (!which('pcscd')) missing.push('pcscd');
  if (!existsSync(VPCD_DRIVER)) missing.push('vsmartcard-vpcd');
  if (!existsSync('/usr/include/PCSC/winscard.h')) missing.push('libpcsclite-dev');
  return missing;
}

// pcscd's socket check is the QA stack's own (the same question: is a pcscd there to use?).

export class PcscdEnv {
  private child: ChildProcess | undefined;
  private source: PcscReaderSource | undefined;
  readonly owned: boolean;
  readonly logFile: string;
  private readonly confDir: string;

  private constructor(owned: boolean) {
    this.owned = owned;
    const dir = mkdtempSync(join(tmpdir(), 'cardpost-pcscd-'));
    this.confDir = join(dir, 'reader.conf.d');
    this.logFile = join(dir, 'pcscd.log');
  }

  /** The reader name pcscd gives vpcd slot n (0 or 1). */
  readerName(slot: number): string {
    return this.owned ? `${READER_PREFIX} 00 0${slot}` : `Virtual PCD 00 0${slot}`;
  }

  port(slot: number): number {
    return VPCD_PORT + slot;
  }

  async start(): Promise<void> {
    if (!this.owned) return;
    mkdirSync(this.confDir, { recursive: true });
    writeFileSync(
      join(this.confDir, 'vpcd'),
      [
        `FRIENDLYNAME "${READER_PREFIX}"`,
        `DEVICENAME /dev/null:${VPCD_PORT}`,
        `LIBPATH ${VPCD_DRIVER}`,
        `CHANNELID ${VPCD_PORT}`,
        '',
      ].join('\n'),
    );
    const log = openSync(this.logFile, 'a');
    this.child = spawn(which('pcscd')!, ['--foreground', '--info', '-c', this.confDir], {
      stdio: ['ignore', log, log],
    });
    const deadline = Date.now() + 10_000;
    while (!(await pcscdAnswers())) {
      if (Date.now() > deadline || this.child.exitCode !== null)
        throw new Error(`pcscd did not start; see ${this.logFile}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    await waitForPort(VPCD_PORT, 10_000);
  }

  /** Stop pcscd (only one we started) and wait until it is gone. */
  async stop(): Promise<void> {
    this.source?.close();
    this.source = undefined;
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
    this.child = undefined;
  }

  async restart(): Promise<void> {
    if (!this.owned) throw new Error('cannot restart a pcscd these tests did not start');
    // A PC/SC context does not outlive its pcscd: the next readers() opens a fresh one.
    try {
      this.source?.close();
    } catch {
      /* the old context is already dead */
    }
    this.source = undefined;
    const child = this.child;
    if (child && child.exitCode === null)
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      });
    this.child = undefined;
    await this.start();
  }

  /** One nfc-pcsc context for the test process (opened after pcscd is up). */
  async readers(): Promise<PcscReaderSource> {
    this.source ??= await PcscReaderSource.open({ extendedLength: true });
    return this.source;
  }

  private static instance: PcscdEnv | undefined;

  static async get(): Promise<PcscdEnv> {
    if (!PcscdEnv.instance) {
      const env = new PcscdEnv(!(await pcscdAnswers()));
      await env.start();
      process.once('exit', () => {
        env.child?.kill('SIGTERM');
      });
      PcscdEnv.instance = env;
    }
    return PcscdEnv.instance;
  }
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // pcscd's vpcd listens as soon as the driver loads; a probe connection would look like a card,
    // so only check the port in /proc/net/tcp instead of connecting.
    const tcp =
      readFileSync('/proc/net/tcp', 'utf8') +
      (existsSync('/proc/net/tcp6') ? readFileSync('/proc/net/tcp6', 'utf8') : '');
    const hex = port.toString(16).toUpperCase().padStart(4, '0');
    if (new RegExp(`:${hex} [0-9A-F:]+ 0A `).test(tcp)) return;
    if (Date.now() > deadline) throw new Error(`vpcd is not listening on port ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Resolve when the reader reports a card (or at once if one is there). */
export function cardIn(reader: PcscCardReader, timeoutMs = 10_000): Promise<void> {
  if (reader.cardPresent) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const t = setTimeout(
      () => reject(new Error(`no card appeared in ${reader.name} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    reader.once('card', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

export function cardOut(reader: PcscCardReader, timeoutMs = 10_000): Promise<void> {
  if (!reader.cardPresent) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const t = setTimeout(
      () => reject(new Error(`the card did not leave ${reader.name} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    reader.once('removed', () => {
      clearTimeout(t);
      resolve();
    });
  });
}
