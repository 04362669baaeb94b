/**
 * The card applet's Cortex-M4 build (build/firmware-arm/cardpost-card.elf) running under
 * qemu-system-arm, behind the same synchronous VirtualCard interface as the TypeScript applet and the
 * native C card: InProcessReader (QemuReader below), the vpcd link into real pcscd and the test
 * suites (test/conformance/card-impls.ts, 'qemu') take it unchanged.
 *
 * The card's flash is a host file in the native card's state-file format ("CPFLASH1" header, then
 * the raw image; firmware-bindings/node/native-card.ts), read and written by the firmware itself
 * through semihosting, so a state file moves between `--firmware native` and `--firmware qemu`.
 * A power cut (`cutPowerAfter`) makes the firmware end QEMU at the chosen write: `transmit` throws
 * PowerLoss, and the next power-on starts QEMU again on the same file, whose store recovers.
 * The random source is a DRBG seeded with fresh random bytes at every QEMU start (board_rng.h).
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AppletOptions } from '../../device-sim/card/applet.js';
import { PowerLoss } from '../../device-sim/card/nvm.js';
import { InProcessReader, type InProcessReaderOptions } from '../../device-sim/reader/in-process-reader.js';
import type { VirtualCard } from '../../device-sim/reader/vpcd-link.js';
import { CardpostError } from '../../protocol/errors.js';
import { FRAME, FRAME_STATUS, NS_PER_TICK, POWER_FLAG, QEMU_EXIT, readU32, u16, u32 } from './qemu-frames.js';
import { QemuExited, QemuLink } from './qemu-link.js';
import { QEMU_CARD_ELF, QEMU_COMMAND, STATE_HEADER, prepareStateFile, qemuArgs } from './qemu-image.js';

export {
  ARM_BUILD_DIR,
  ARM_FLASH_GEOMETRY,
  QEMU_CARD_ELF,
  QEMU_COMMAND,
  QEMU_MACHINE,
  QEMU_SELFTEST_ELF,
  ensureQemuImages,
  qemuArgs,
  qemuCardUnavailable,
} from './qemu-image.js';

export interface QemuCardOptions extends AppletOptions {
  /** The flash file (the native card's format; created blank if missing). Absent: a temporary file. */
  stateFile?: string;
  /** Another image, e.g. the self-test (default: the card). */
  elf?: string;
  /**
   * The DRBG seed for every start (tests that want repeatable runs); default: fresh random bytes.
   * INSECURE by design: the same seed gives the same nonces after every power cycle, and two signatures
   * with one nonce reveal the card's key. Never for a card that holds anything of value.
   */
  seed?: Uint8Array;
  /** Run with `-icount shift=0` (1 instruction = 1 virtual ns): instruction counts (default true). */
  icount?: boolean;
  /** Milliseconds to wait for each answer before QEMU is killed. */
  timeoutMs?: number;
}

/** Temporary flash folders of cards not closed yet: removed when Node exits (QEMU is killed by qemu-link). */
const tempDirs = new Set<string>();
let cleanupHooked = false;
function trackTempDir(dir: string): void {
  tempDirs.add(dir);
  if (cleanupHooked) return;
  cleanupHooked = true;
  process.once('exit', () => {
    for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
  });
}

export class QemuCard implements VirtualCard {
  readonly stateFile: string;
  private readonly tempDir: string | undefined;
  private readonly elf: string;
  private link: QemuLink | undefined;
  private dead = false;
  private closed = false;
  private atrBytes: Uint8Array | undefined;
  /** Writes made by QEMU runs that have ended; the live run's count adds to it. */
  private writesBefore = 0;
  /** Where the live run's counter stood when a cut was armed, and the cut: for the count after a cut. */
  private armed: { at: number; n: number } | undefined;

  constructor(private readonly opts: QemuCardOptions = {}) {
    this.elf = opts.elf ?? QEMU_CARD_ELF;
    if (opts.stateFile) {
      this.stateFile = opts.stateFile;
    } else {
      this.tempDir = mkdtempSync(join(tmpdir(), 'cardpost-qemu-'));
      trackTempDir(this.tempDir);
      this.stateFile = join(this.tempDir, 'flash.bin');
    }
    prepareStateFile(this.stateFile);
  }

  // ---------------------------------------------------------------- VirtualCard

  atr(): Uint8Array {
    if (!this.atrBytes) this.atrBytes = this.expectOk(this.running().request(FRAME.ATR), 'ATR');
    return this.atrBytes;
  }

  powerOn(): void {
    const o = this.opts;
    const flags =
      (o.extendedLength === false ? 0 : POWER_FLAG.EXTENDED) | (o.atrProtocols === 'T0' ? POWER_FLAG.T0_ONLY : 0);
    const payload = Uint8Array.of(flags, ...u16(o.maxMessageSize ?? 2048), ...u16(o.journalCapacity ?? 32));
    this.atrBytes = this.call(FRAME.POWER_ON, payload, 'power-on');
  }

  /**
   * The board goes off: the card is powered down and QEMU stopped; the next power-on boots it again
   * (RAM lost, the store recovers from the file, the file reopened: a state file another program
   * replaced meanwhile, e.g. the native card's factory step, is what the next power-on sees).
   */
  powerOff(): void {
    if (this.link && !this.link.exit) this.call(FRAME.POWER_OFF, undefined, 'power-off');
    this.stop();
  }

  reset(): void {
    if (this.dead || !this.link || this.link.exit) return this.powerOn();
    this.atrBytes = this.call(FRAME.RESET, undefined, 'reset');
  }

  transmit(apdu: Uint8Array): Uint8Array {
    if (this.dead) throw new PowerLoss();
    const a = this.frame(FRAME.APDU, apdu);
    if (a.status === FRAME_STATUS.NOT_POWERED) {
      this.powerOn(); // lenient, as the TS card: a caller that never powered it
      return this.transmit(apdu);
    }
    return this.expectOk(a, 'APDU');
  }

  // ---------------------------------------------------------------- tearing and figures

  /** Cut the power at the n-th physical write (program or page erase) from now; undefined disarms. */
  cutPowerAfter(n: number | undefined, mode: 'after' | 'during' = 'after'): void {
    if (n !== undefined && (!Number.isInteger(n) || n < 1))
      throw new CardpostError('QEMU_CARD_ARGS', `cutPowerAfter(${n})`, 'give a whole number of writes >= 1');
    const link = this.running();
    const at = this.liveWrites(link);
    this.expectOk(link.request(FRAME.CUT_AFTER, Uint8Array.of(...u32(n ?? 0), mode === 'during' ? 1 : 0)), 'cut');
    this.armed = n === undefined ? undefined : { at, n };
  }

  /** Physical writes since this card was opened (across QEMU restarts). */
  get writeCount(): number {
    if (!this.link || this.link.exit) return this.writesBefore;
    return this.writesBefore + this.liveWrites(this.link);
  }

  get alive(): boolean {
    return !this.dead;
  }

  /** Repaint the free stack (before a command whose stack use is wanted). */
  paintStack(): void {
    this.expectOk(this.running().request(FRAME.STACK_PAINT), 'stack paint');
  }

  /** Deepest stack use since the last paint, and all the stack there is (bytes). */
  stackHighWater(): { used: number; size: number } {
    const p = this.expectOk(this.running().request(FRAME.STACK_HIGH), 'stack high-water');
    return { used: readU32(p, 0), size: readU32(p, 4) };
  }

  /** Instructions of the last APDU or power-on, to within 40 (exact only with icount, the default). */
  lastInstructions(): number {
    return readU32(this.expectOk(this.running().request(FRAME.LAST_TICKS), 'ticks')) * NS_PER_TICK;
  }

  /** sizeof(cp_card) in the image and its flash geometry. */
  info(): { cardStateBytes: number; pageSize: number; pageCount: number; writeUnit: number } {
    const p = this.expectOk(this.running().request(FRAME.INFO), 'info');
    return {
      cardStateBytes: readU32(p, 0),
      pageSize: readU32(p, 4),
      pageCount: readU32(p, 8),
      writeUnit: readU32(p, 12),
    };
  }

  /** An independent card with a copy of this one's flash now (the same options, its own QEMU). */
  clone(): QemuCard {
    const copy = new QemuCard({ ...this.opts, stateFile: undefined });
    copyFileSync(this.stateFile, copy.stateFile);
    return copy;
  }

  /** Stop QEMU; delete the flash file if it was a temporary one. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stop();
    if (this.tempDir) {
      rmSync(this.tempDir, { recursive: true, force: true });
      tempDirs.delete(this.tempDir);
    }
  }

  /** Stop QEMU now (the next call starts it again on the same flash: a power cycle of the whole board). */
  stop(): void {
    if (!this.link) return;
    if (!this.link.exit) this.writesBefore += this.liveWrites(this.link);
    this.link.close();
    this.link = undefined;
  }

  // ---------------------------------------------------------------- internals

  private running(): QemuLink {
    if (this.closed) throw new CardpostError('QEMU_CARD_CLOSED', 'the QEMU card is closed', 'open a new one');
    if (this.link && !this.link.exit) return this.link;
    if (this.link) this.link.close();
    const seed = this.opts.seed ?? randomBytes(32);
    const append = `flash=${this.stateFile} offset=${STATE_HEADER} seed=${Buffer.from(seed).toString('hex')}`;
    if (/\s/.test(this.stateFile))
      throw new CardpostError(
        'QEMU_CARD_ARGS',
        `the flash file path has spaces: ${this.stateFile}`,
        'use a path without spaces',
      );
    this.link = new QemuLink({
      command: QEMU_COMMAND,
      args: qemuArgs(this.elf, append, this.opts.icount ?? true),
      timeoutMs: this.opts.timeoutMs,
    });
    this.armed = undefined;
    return this.link;
  }

  private liveWrites(link: QemuLink): number {
    return readU32(this.expectOk(link.request(FRAME.WRITE_COUNT), 'write count'));
  }

  /** A frame; a power cut on the way becomes PowerLoss (the card is dead until power-on). */
  private frame(type: number, payload?: Uint8Array): { status: number; payload: Uint8Array } {
    if (this.dead && type !== FRAME.POWER_ON) throw new PowerLoss();
    const link = this.running();
    try {
      return link.request(type, payload);
    } catch (e) {
      if (e instanceof QemuExited && e.exitCode === QEMU_EXIT.POWER_CUT) {
        // The firmware made exactly the armed writes; QEMU is gone.
        this.writesBefore += this.armed ? this.armed.at + this.armed.n : 0;
        this.armed = undefined;
        this.link = undefined;
        this.dead = true;
        this.atrBytes = undefined;
        throw new PowerLoss();
      }
      throw e;
    }
  }

  private call(type: number, payload: Uint8Array | undefined, what: string): Uint8Array {
    if (type === FRAME.POWER_ON) this.dead = false;
    return this.expectOk(this.frame(type, payload), what);
  }

  private expectOk(a: { status: number; payload: Uint8Array }, what: string): Uint8Array {
    if (a.status === FRAME_STATUS.OK) return a.payload;
    const detail = a.status === FRAME_STATUS.RESULT ? `cp_result ${a.payload[0]}` : `frame status ${a.status}`;
    throw new CardpostError(
      'QEMU_CARD_FAULT',
      `the ARM card failed ${what}: ${detail}`,
      'a bug in the firmware or a damaged flash file: keep the state file for the report',
    );
  }
}

/** The QEMU card's test interface (test/conformance/card-impls.ts CardUnderTest, structurally). */
export interface QemuCardUnderTest {
  readonly impl: 'qemu';
  readonly card: QemuCard;
  cutPowerAfter(n: number | undefined, mode?: 'after' | 'during'): void;
  readonly writeCount: number;
  readonly alive: boolean;
  powerCycle(): void;
  clone(): QemuCardUnderTest;
  close(): void;
}

function underTest(card: QemuCard): QemuCardUnderTest {
  return {
    impl: 'qemu',
    card,
    cutPowerAfter: (n, mode) => card.cutPowerAfter(n, mode),
    get writeCount() {
      return card.writeCount;
    },
    get alive() {
      return card.alive;
    },
    powerCycle: () => {
      if (card.alive) card.powerOff();
      card.powerOn();
    },
    clone: () => underTest(card.clone()),
    close: () => card.close(),
  };
}

/**
 * The QEMU card for the suites (card-impls.ts 'qemu') and `cardpost sim card --firmware qemu`
 * (which uses `.card`, a VirtualCard, and `.close()`).
 */
export function openQemuCard(opts: QemuCardOptions = {}): QemuCardUnderTest {
  return underTest(new QemuCard(opts));
}

/** A CardReader with a QEMU card inserted; close() removes it and stops QEMU. */
export class QemuReader extends InProcessReader {
  readonly qemuCard: QemuCard;

  constructor(opts: QemuCardOptions & { reader?: InProcessReaderOptions } = {}) {
    super({ name: 'cardpost QEMU reader 0', extendedLength: opts.extendedLength ?? true, ...opts.reader });
    this.qemuCard = new QemuCard(opts);
    this.insert(this.qemuCard);
  }

  close(): void {
    this.remove();
    this.qemuCard.close();
  }
}
