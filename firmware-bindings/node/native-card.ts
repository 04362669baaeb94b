/**
 * The C card applet (firmware-bindings/core) in this process, through the cardpost_card addon
 * (cp_node_card.c), behind the same synchronous VirtualCard interface as the TypeScript applet: the
 * in-process reader, the vpcd link into pcscd, the serial terminal's slot and the HID key take either.
 *
 * The card's flash is a RAM image (NOR rules: program clears bits, erase sets 0xFF) that this class
 * owns, saves to `stateFile` after every command that wrote, and copies for tearing tests. Power
 * cuts: `cutPowerAfter(n)` kills the power at the n-th physical write (program or page erase) from
 * now; the command then throws the TypeScript card's PowerLoss and the card stays dead, as the TS
 * card does, until it is powered on again (powerOn / reset run the store's recovery).
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { AppletOptions } from '../../device-sim/card/applet.js';
import { PowerLoss } from '../../device-sim/card/nvm.js';
import type { VirtualCard } from '../../device-sim/reader/vpcd-link.js';
import { CardpostError } from '../../protocol/errors.js';

export const NATIVE_CARD_ADDON_PATH = fileURLToPath(new URL('../../build/Release/cardpost_card.node', import.meta.url));

/** cp_result (firmware-bindings/core/include/cp_hal.h): stable numbers. */
export const CP_RESULT = [
  'CP_OK',
  'CP_POWER_LOST',
  'CP_FLASH_FAULT',
  'CP_NO_SPACE',
  'CP_NOT_FOUND',
  'CP_TOO_LARGE',
  'CP_CORRUPT',
  'CP_RNG_FAILED',
  'CP_BAD_ARG',
  'CP_CRYPTO_FAILED',
] as const;
const CP_OK = 0;
const CP_POWER_LOST = 1;

/** The addon's functions (cp_node_card.c); `ctx` is the ArrayBuffer holding one card's C state. */
interface CardAddon {
  open(
    image: Uint8Array,
    pageSize: number,
    pageCount: number,
    writeUnit: number,
    extendedLength: number,
    t0Only: number,
    maxMessageSize: number,
    journalCapacity: number,
  ): ArrayBuffer;
  powerOn(ctx: ArrayBuffer, image: Uint8Array): number;
  powerOff(ctx: ArrayBuffer, image: Uint8Array): void;
  atr(ctx: ArrayBuffer): Uint8Array;
  transmit(ctx: ArrayBuffer, image: Uint8Array, apdu: Uint8Array): Uint8Array | number;
  writeCount(ctx: ArrayBuffer): number;
  cutAfter(ctx: ArrayBuffer, n: number, mode: number): void;
  alive(ctx: ArrayBuffer): boolean;
  manufacture(ctx: ArrayBuffer, image: Uint8Array, anchor: Uint8Array): number;
  contextBytes(): number;
}

/** The flash the card gets: erase pages, and the program granularity. */
export interface FlashGeometry {
  pageSize: number;
  pageCount: number;
  writeUnit: 1 | 4 | 8;
}

/** 16 pages of 4 KB, programmed 4 bytes at a time: the Cortex-M4 build's flash (firmware-bindings/arm), so a state file moves between the two. */
export const DEFAULT_GEOMETRY: FlashGeometry = { pageSize: 4096, pageCount: 16, writeUnit: 4 };

export interface NativeCardOptions extends AppletOptions {
  /** The flash image file (created blank if missing); absent: the flash lives in memory only. */
  stateFile?: string;
  /** Flash geometry of a new card (a state file keeps its own). */
  geometry?: FlashGeometry;
  /** Start from this flash image (a copy is taken), e.g. `other.flashImage()` for tearing tests. */
  image?: Uint8Array;
}

/** What a cut write leaves: 'after' it completed (as the TS card's Nvm), or torn 'during' it (half of it written). */
export type CutMode = 'after' | 'during';

/** CP_JOURNAL_MAX_CAPACITY (cp_state.h) and CP_CARD_MAX_MESSAGE (cp_card.h). */
const MAX_JOURNAL = 64;
const MAX_MESSAGE = 2048;

let cachedAddon: CardAddon | string | undefined;

/** The addon, or why it cannot be loaded (not built: `node scripts/build-native.mjs --only card`). */
export function loadCardAddon(): CardAddon | string {
  if (cachedAddon === undefined) {
    try {
      // RTLD_NOW: an addon linked against an unfinished core (a missing symbol) fails here, with
      // its name, instead of killing the process at the first call that needs it.
      const mod = { exports: {} as CardAddon };
      process.dlopen(mod, NATIVE_CARD_ADDON_PATH, constants.dlopen.RTLD_NOW ?? 0);
      cachedAddon = mod.exports;
    } catch (err) {
      cachedAddon = `cannot load ${NATIVE_CARD_ADDON_PATH}: ${(err as Error).message.split('\n')[0]}`;
    }
  }
  return cachedAddon;
}

export function nativeCardAvailable(): boolean {
  return typeof loadCardAddon() !== 'string';
}

function requireAddon(): CardAddon {
  const a = loadCardAddon();
  if (typeof a === 'string')
    throw new CardpostError(
      'NATIVE_CARD_UNAVAILABLE',
      `the native card addon is not built (${a})`,
      'build it with `node scripts/build-native.mjs --only card --verbose` (needs a C compiler and node-gyp)',
    );
  return a;
}

const resultName = (r: number) => CP_RESULT[r] ?? `cp_result ${r}`;

export class NativeCard implements VirtualCard {
  readonly extendedLength: boolean;
  readonly atrProtocols: 'T0+T1' | 'T0';
  readonly maxMessageSize: number;
  readonly journalCapacity: number;
  readonly geometry: FlashGeometry;
  readonly stateFile: string | undefined;

  private readonly addon: CardAddon;
  private readonly image: Uint8Array;
  private readonly ctx: ArrayBuffer;
  private powered = false;
  private savedAt: number;

  constructor(opts: NativeCardOptions = {}) {
    this.addon = requireAddon();
    this.extendedLength = opts.extendedLength ?? true;
    this.atrProtocols = opts.atrProtocols ?? 'T0+T1';
    this.maxMessageSize = opts.maxMessageSize ?? 2048;
    this.journalCapacity = opts.journalCapacity ?? 32;
    this.stateFile = opts.stateFile;
    // The C card's fixed buffers: refuse what it would otherwise clamp without a word.
    if (!Number.isInteger(this.journalCapacity) || this.journalCapacity < 1 || this.journalCapacity > MAX_JOURNAL)
      throw new CardpostError(
        'NATIVE_CARD_ARGS',
        `journalCapacity ${this.journalCapacity}: the C card keeps 1 to ${MAX_JOURNAL} records (CP_JOURNAL_MAX_CAPACITY)`,
        `give a journal capacity of at most ${MAX_JOURNAL}`,
      );
    if (!Number.isInteger(this.maxMessageSize) || this.maxMessageSize < 1024 || this.maxMessageSize > MAX_MESSAGE)
      throw new CardpostError(
        'NATIVE_CARD_ARGS',
        `maxMessageSize ${this.maxMessageSize}: the C card takes 1024 to ${MAX_MESSAGE} bytes (CP_CARD_MAX_MESSAGE)`,
        `give a message size between 1024 and ${MAX_MESSAGE}`,
      );
    const loaded = opts.stateFile && existsSync(opts.stateFile) ? readImageFile(opts.stateFile) : undefined;
    this.geometry = loaded?.geometry ?? opts.geometry ?? DEFAULT_GEOMETRY;
    const size = this.geometry.pageSize * this.geometry.pageCount;
    if (opts.image && opts.image.length !== size)
      throw new CardpostError(
        'NATIVE_CARD_ARGS',
        `a flash image of ${opts.image.length} bytes for a ${size}-byte flash`,
        'pass the geometry the image was made with',
      );
    this.image = Buffer.alloc(size, 0xff);
    this.image.set(loaded?.image ?? opts.image ?? new Uint8Array(0));
    const g = this.geometry;
    this.ctx = this.addon.open(
      this.image,
      g.pageSize,
      g.pageCount,
      g.writeUnit,
      this.extendedLength ? 1 : 0,
      this.atrProtocols === 'T0' ? 1 : 0,
      this.maxMessageSize,
      this.journalCapacity,
    );
    this.savedAt = -1;
    // Power-on recovery at construction, as the TS card's Nvm does when it is opened.
    this.mount();
    this.powered = false;
  }

  /** Bytes of C state per card (cp_card, HAL, flash model, response buffer), for the figures. */
  static contextBytes(): number {
    return requireAddon().contextBytes();
  }

  atr(): Uint8Array {
    return this.addon.atr(this.ctx);
  }

  powerOn(): void {
    this.mount();
  }

  powerOff(): void {
    if (this.alive) this.addon.powerOff(this.ctx, this.image);
    this.powered = false;
  }

  reset(): void {
    this.mount();
  }

  get isPowered(): boolean {
    return this.powered;
  }

  transmit(apdu: Uint8Array): Uint8Array {
    if (!this.alive) throw new PowerLoss();
    if (!this.powered) this.mount(); // as the TS card: lenient for callers that never powered it
    const r = this.addon.transmit(this.ctx, this.image, apdu);
    this.persist();
    if (typeof r !== 'number') return r;
    this.powered = false;
    if (r === CP_POWER_LOST) throw new PowerLoss();
    throw new CardpostError(
      'NATIVE_CARD_FAULT',
      `the C card failed a command with ${resultName(r)} (cp_card_transmit must answer every APDU)`,
      'a bug in the firmware or a damaged flash image: keep the state file for the report',
    );
  }

  /** Cut the power right after the n-th physical write from now (undefined: no cut). */
  cutPowerAfter(n: number | undefined, mode: CutMode = 'after'): void {
    if (n !== undefined && (!Number.isInteger(n) || n < 1))
      throw new CardpostError('NATIVE_CARD_ARGS', `cutPowerAfter(${n})`, 'give a whole number of writes >= 1');
    this.addon.cutAfter(this.ctx, n ?? 0, mode === 'during' ? 1 : 0);
  }

  /** Physical writes (programs and page erases) since this object opened the flash. */
  get writeCount(): number {
    return this.addon.writeCount(this.ctx);
  }

  get alive(): boolean {
    return this.addon.alive(this.ctx);
  }

  /**
   * The factory step before personalisation (as the TS card's manufactureFor): bind a blank card to
   * one issuer by writing that issuer's CA certificate into its store; PERSONALIZE_BEGIN then accepts
   * only that CA (docs/protocol.md §4.6). The card is power-cycled around it.
   */
  manufactureFor(issuerCaEnvelope: Uint8Array): void {
    const r = this.addon.manufacture(this.ctx, this.image, issuerCaEnvelope);
    this.persist();
    this.mount();
    if (r === CP_OK) return;
    if (r === 100)
      throw new CardpostError(
        'CARD_NOT_BLANK',
        'only a blank card can be bound to an issuer',
        'use a new card state file',
      );
    if (r === 101)
      throw new CardpostError(
        'CARD_BOUND',
        'this blank card is already bound to another issuer',
        'use a new card state file',
      );
    throw new CardpostError(
      'NATIVE_CARD_FAULT',
      `the factory step failed with ${resultName(r)}`,
      'keep the state file for the report',
    );
  }

  /** A copy of the flash as it is now. */
  flashImage(): Uint8Array {
    return Uint8Array.from(this.image);
  }

  /** Power on (after a cut too): the store's recovery runs; a cut during recovery throws PowerLoss again. */
  private mount(): void {
    const r = this.addon.powerOn(this.ctx, this.image);
    this.persist();
    if (r === CP_OK) {
      this.powered = true;
      return;
    }
    this.powered = false;
    if (r === CP_POWER_LOST) throw new PowerLoss();
    throw new CardpostError(
      'CARD_STATE_CORRUPT',
      `the C card cannot mount its flash${this.stateFile ? ` (${this.stateFile})` : ''}: ${resultName(r)}`,
      'restore the state file from a backup, or delete it to start with a blank card',
    );
  }

  /** Save the image after anything that wrote (atomic replace: a killed process leaves old or new). */
  private persist(): void {
    if (!this.stateFile) return;
    const writes = this.writeCount;
    if (writes === this.savedAt) return;
    writeImageFile(this.stateFile, this.geometry, this.image);
    this.savedAt = writes;
  }
}

/*
 * State file: "CPFLASH1", then version, page size, page count and write unit (u32 little-endian),
 * then the raw image. Not the TypeScript card's JSON: the two cards keep different NVM layouts.
 */
const MAGIC = Buffer.from('CPFLASH1', 'latin1');
const HEADER = 24;

function writeImageFile(path: string, g: FlashGeometry, image: Uint8Array): void {
  const head = Buffer.alloc(HEADER);
  MAGIC.copy(head, 0);
  head.writeUInt32LE(1, 8);
  head.writeUInt32LE(g.pageSize, 12);
  head.writeUInt32LE(g.pageCount, 16);
  head.writeUInt32LE(g.writeUnit, 20);
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, Buffer.concat([head, image]));
  renameSync(tmp, path);
}

function readImageFile(path: string): { geometry: FlashGeometry; image: Uint8Array } {
  const bytes = readFileSync(path);
  const bad = (why: string) =>
    new CardpostError(
      'CARD_STATE_CORRUPT',
      `the card state in ${path} is not a native card's flash image: ${why}`,
      bytes[0] === 0x7b
        ? 'it is a TypeScript card state (JSON): use --firmware ts with it, or a new file'
        : 'restore the file from a backup, or delete it to start with a blank card',
    );
  if (bytes.length < HEADER || !bytes.subarray(0, 8).equals(MAGIC)) throw bad('no CPFLASH1 header');
  if (bytes.readUInt32LE(8) !== 1) throw bad(`version ${bytes.readUInt32LE(8)}`);
  const pageSize = bytes.readUInt32LE(12);
  const pageCount = bytes.readUInt32LE(16);
  const writeUnit = bytes.readUInt32LE(20);
  if (writeUnit !== 1 && writeUnit !== 4 && writeUnit !== 8) throw bad(`write unit ${writeUnit}`);
  if (bytes.length !== HEADER + pageSize * pageCount)
    throw bad(`${bytes.length - HEADER} bytes of flash for ${pageCount} pages of ${pageSize}`);
  return { geometry: { pageSize, pageCount, writeUnit }, image: bytes.subarray(HEADER) };
}
