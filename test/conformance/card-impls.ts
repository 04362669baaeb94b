/**
 * Every implementation of the card behind one small interface, so the conformance, tearing, fuzz and
 * differential suites run unchanged against each: 'ts' (the TypeScript reference applet,
 * device-sim/card/), 'native' (the C applet in-process, firmware-bindings/node/) and 'qemu' (the
 * Cortex-M4 build under qemu-system-arm, firmware-bindings/arm/).
 *
 * The contract, for whoever adds an implementation:
 *  - `card` is a synchronous VirtualCard (device-sim/reader/vpcd-link.ts) and stays the same object
 *    for the life of the CardUnderTest (a reader may hold it across power cycles);
 *  - `cutPowerAfter(n, mode)`: the power dies at the n-th physical NVM write from now (n >= 1;
 *    undefined disarms), right after it ('after', the default) or in the middle of it ('during': half of
 *    a program's bytes, half of an erased page; flash cards only). The command in progress throws PowerLoss (device-sim/card/nvm.ts) out of
 *    `card.transmit`; from then `alive` is false and every transmit throws PowerLoss until power-on;
 *  - `writeCount`: physical writes (flash programs and erases; the TS card's Nvm writes) since the
 *    CardUnderTest was opened; only differences are meaningful;
 *  - `powerCycle()`: power off and on: the NVM recovery runs (after a cut too), the session is gone
 *    (not selected, PIN not verified). `card.powerOn()` on a dead card does the same;
 *  - `clone()`: an independent card, same implementation and options, whose NVM is a copy of this
 *    one's now (tearing tests replay one command from one state);
 *  - `close()`: releases what the card holds (a QEMU process); idempotent.
 *
 * 'qemu' comes from firmware-bindings/arm/qemu-card.ts, which exports
 *     qemuCardUnavailable(): string | undefined   // why it cannot run here (no qemu, image not built)
 *     openQemuCard(opts: CardOpenOptions): CardUnderTest
 * `cardpost sim card --firmware qemu` uses the same two functions.
 */
import { CardApplet, type AppletOptions } from '../../device-sim/card/applet.js';
import { MemoryBacking, Nvm } from '../../device-sim/card/nvm.js';
import type { VirtualCard } from '../../device-sim/reader/vpcd-link.js';
import { NativeCard, loadCardAddon, type NativeCardOptions } from '../../firmware-bindings/node/native-card.js';
import { openQemuCard, qemuCardUnavailable } from '../../firmware-bindings/arm/qemu-card.js';
import { REQUIRE_SYSTEM } from '../support/system.js';

export type CardImpl = 'ts' | 'native' | 'qemu';
export const CARD_IMPLS: readonly CardImpl[] = ['ts', 'native', 'qemu'];

export type CardOpenOptions = AppletOptions & {
  /** Keep the NVM in this file between runs (created blank if missing). */
  stateFile?: string;
};

/** Where a power cut falls: right after the chosen write, or in the middle of it (a torn write). */
export type CutMode = 'after' | 'during';

export interface CardUnderTest {
  readonly impl: CardImpl;
  readonly card: VirtualCard;
  cutPowerAfter(n: number | undefined, mode?: CutMode): void;
  readonly writeCount: number;
  readonly alive: boolean;
  powerCycle(): void;
  clone(): CardUnderTest;
  close(): void;
}

export interface CardImplFactory {
  readonly impl: CardImpl;
  /** Why this implementation cannot run here (addon not built, no qemu), or undefined. */
  unavailable(): string | undefined;
  open(opts?: CardOpenOptions): CardUnderTest;
}

// ------------------------------------------------------------------ the TypeScript applet

/** The TS applet over an in-memory Nvm; power cycles reopen the Nvm, as a card reader's power-on does. */
export class TsCardUnderTest implements CardUnderTest {
  readonly impl = 'ts' as const;
  readonly card: VirtualCard;
  private nvm: Nvm;
  private applet: CardApplet;
  private writesBefore = 0; // writes of the Nvm objects before the current one

  constructor(
    private readonly opts: AppletOptions,
    private readonly backing: MemoryBacking,
  ) {
    this.nvm = new Nvm(backing);
    this.applet = new CardApplet(this.nvm, opts);
    this.card = {
      atr: () => this.applet.atr(),
      powerOn: () => (this.nvm.alive ? this.applet.powerOn() : this.powerCycle()),
      powerOff: () => this.applet.powerOff(),
      reset: () => (this.nvm.alive ? this.applet.reset() : this.powerCycle()),
      transmit: (apdu) => this.applet.transmit(apdu),
    };
  }

  cutPowerAfter(n: number | undefined, mode: CutMode = 'after'): void {
    // Its Nvm's physical writes are whole images: there is no half of one to tear.
    if (mode !== 'after') throw new Error("the TypeScript card's Nvm has no torn writes: cut 'after' only");
    this.nvm.cutPowerAfter(n);
  }
  get writeCount(): number {
    return this.writesBefore + this.nvm.writeCount;
  }
  get alive(): boolean {
    return this.nvm.alive;
  }
  powerCycle(): void {
    this.applet.powerOff();
    this.writesBefore += this.nvm.writeCount;
    this.nvm = new Nvm(this.backing);
    this.applet = new CardApplet(this.nvm, this.opts);
    this.applet.powerOn();
  }
  clone(): CardUnderTest {
    return new TsCardUnderTest(this.opts, this.backing.clone());
  }
  /** Write one NVM value directly, as older firmware may have left it (TypeScript card only). */
  setNvm(key: string, value: Uint8Array): void {
    this.nvm.transaction((tx) => tx.set(key, value));
  }
  close(): void {}
}

const tsFactory: CardImplFactory = {
  impl: 'ts',
  unavailable: () => undefined,
  open: (opts = {}) => {
    if (opts.stateFile) throw new Error("the 'ts' test card keeps its NVM in memory; use openSimCard for a file");
    return new TsCardUnderTest(opts, new MemoryBacking());
  },
};

// ------------------------------------------------------------------ the C applet in-process

class NativeCardUnderTest implements CardUnderTest {
  readonly impl = 'native' as const;
  constructor(
    readonly card: NativeCard,
    private readonly opts: NativeCardOptions,
  ) {}
  cutPowerAfter(n: number | undefined, mode: CutMode = 'after'): void {
    this.card.cutPowerAfter(n, mode);
  }
  get writeCount(): number {
    return this.card.writeCount;
  }
  get alive(): boolean {
    return this.card.alive;
  }
  powerCycle(): void {
    this.card.powerOff();
    this.card.powerOn();
  }
  clone(): CardUnderTest {
    const { stateFile: _file, ...opts } = this.opts;
    const copy = { ...opts, geometry: this.card.geometry, image: this.card.flashImage() };
    return new NativeCardUnderTest(new NativeCard(copy), copy);
  }
  close(): void {
    this.card.powerOff();
  }
}

const nativeFactory: CardImplFactory = {
  impl: 'native',
  unavailable: () => {
    const a = loadCardAddon();
    return typeof a === 'string' ? `${a} (build: node scripts/build-native.mjs --only card --verbose)` : undefined;
  },
  open: (opts = {}) => new NativeCardUnderTest(new NativeCard(opts), opts),
};

// ------------------------------------------------------------------ the ARM build under QEMU

// Imported statically, not with import(): under mocha's CommonJS loading a dynamic import would load a
// second copy of device-sim/card/nvm.ts, and the QEMU card's PowerLoss would not be the suites' PowerLoss.
async function qemuFactory(): Promise<CardImplFactory> {
  return {
    impl: 'qemu',
    unavailable: () => qemuCardUnavailable(),
    open: (opts = {}) => openQemuCard(opts),
  };
}

/** The factory of one implementation (async: the QEMU module is loaded only when asked for). */
export async function cardImpl(impl: CardImpl): Promise<CardImplFactory> {
  if (impl === 'ts') return tsFactory;
  if (impl === 'native') return nativeFactory;
  return qemuFactory();
}

/**
 * A card of `impl` for a conformance fixture: undefined (the suite skips, saying why) when it cannot run
 * here, unless REQUIRE_SYSTEM=1, where that is a failure.
 */
export async function openForSuite(impl: CardImpl, opts: CardOpenOptions = {}): Promise<CardUnderTest | undefined> {
  const factory = await cardImpl(impl);
  const why = factory.unavailable();
  if (why) {
    if (REQUIRE_SYSTEM) throw new Error(`REQUIRE_SYSTEM=1 but the ${impl} card is unavailable: ${why}`);
    console.log(`      skipped: ${why}`);
    return undefined;
  }
  return factory.open(opts);
}
