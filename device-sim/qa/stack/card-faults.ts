import { CLA_CHAINING_BIT, decodeCommandApdu } from '../../../protocol/apdu/index.js';
import { CMD, INS, type CommandName } from '../../../protocol/commands/index.js';
import type { VirtualCard } from '../../reader/vpcd-link.js';

/**
 * "During command X": picks the APDU on which the card acts on X. A chained command is acted on at its
 * last chunk, so the match is decided at the first chunk (which carries the command byte) and fires at
 * the last; VERIFY_PIN is also the ISO VERIFY (INS 20) the host and the terminal's pad send.
 */
export function commandMatcher(command: string): (apdu: Uint8Array) => boolean {
  const code = CMD[command as CommandName] as number | undefined;
  let inChain = false;
  let chainIsIt = false;
  return (apdu) => {
    let c;
    try {
      c = decodeCommandApdu(apdu);
    } catch {
      return false;
    }
    const isIt = inChain
      ? chainIsIt
      : (c.ins === INS.CBOR && code !== undefined && c.data?.[0] === code) ||
        (command === 'VERIFY_PIN' && c.ins === INS.VERIFY);
    if (c.cla & CLA_CHAINING_BIT) {
      inChain = true;
      chainIsIt = isIt;
      return false;
    }
    inChain = false;
    return isIt;
  };
}

/** Thrown out of transmit() when the card is pulled mid-command: the terminal and the HID key treat it as the card gone. */
export class CardPulled extends Error {
  constructor() {
    super('the card was pulled during the command');
  }
}

/**
 * A card as the serial terminal's slot and the HID key carry it, with the QA faults: pulled during a
 * command (the card acts, then is gone: its answer is lost), or stalled (it acts, then the medium
 * loses everything it would send until the card is taken out; `onStall` arranges that).
 */
export class FaultableCard implements VirtualCard {
  private pull: ((apdu: Uint8Array) => boolean) | undefined;
  private stall: ((apdu: Uint8Array) => boolean) | undefined;

  constructor(
    readonly inner: VirtualCard,
    private readonly hooks: { onPull: () => void; onStall: () => void },
  ) {}

  pullDuring(command: string): void {
    this.pull = commandMatcher(command);
  }
  stallDuring(command: string): void {
    this.stall = commandMatcher(command);
  }

  atr(): Uint8Array {
    return this.inner.atr();
  }
  powerOn(): void {
    this.inner.powerOn();
  }
  powerOff(): void {
    this.inner.powerOff();
  }
  reset(): void {
    this.inner.reset();
  }

  transmit(apdu: Uint8Array): Uint8Array {
    const pull = this.pull?.(apdu) === true;
    const stall = this.stall?.(apdu) === true;
    const reply = this.inner.transmit(apdu);
    if (pull) {
      this.pull = undefined;
      this.hooks.onPull();
      throw new CardPulled();
    }
    if (stall) {
      this.stall = undefined;
      this.hooks.onStall();
    }
    return reply;
  }
}
