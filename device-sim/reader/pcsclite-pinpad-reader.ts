import { EventEmitter } from 'node:events';
import type { VirtualCard } from './vpcd-link.js';

/**
 * A stand-in for one @pokusew/pcsclite CardReader object — the boundary nfc-pcsc's Reader wraps —
 * with a CCID PIN pad (PC/SC part 10 FEATURE_VERIFY_PIN_DIRECT). pcscd and the kernel here offer no
 * PIN pad reader (vsmartcard's vpcd lists no part 10 features), so the PIN pad is simulated at the
 * library's own boundary: `control(data, controlCode, maxLen, cb)` and `transmit(...)` as pcsclite
 * gives them, 'status' events as pcsclite emits them.
 *
 * The pad reads the PIN_VERIFY_STRUCTURE the host sends the way a CCID reader and its driver do
 * (written here from the part 10 / CCID field definitions, independently of the host's builder in
 * protocol/pcsc/part10.ts): it checks ulDataLength, takes the customer's digits, writes them into the
 * APDU template at the position and in the coding bmFormatString gives, writes the PIN length where
 * bmPINBlockString / bmPINLengthFormat say, sends that APDU to the card and answers the card's status
 * word — or 6400 (time-out) / 6401 (Cancel key). A mistake in the host's structure gives the card a
 * wrong PIN block, and the card refuses it (6A80 or 63Cx).
 *
 * `crossed` keeps every byte that crossed the boundary in either direction, for tests to prove that
 * no digit of the PIN ever came from or went to the host.
 */

/** What the customer does at the pad: types digits and presses OK, presses Cancel, or walks away. */
export type PadAction = string | 'cancel' | 'timeout' | 'hold';

export interface SimPcscliteReaderOptions {
  name?: string;
  /** The part 10 features the reader lists (tag → control code). Default: VERIFY_PIN_DIRECT at 0x42330006, as libccid. */
  features?: ReadonlyMap<number, number> | 'unsupported';
  /** Ms per second of bTimerOut (tests shorten the reader's clock). Default 1000. */
  msPerSecond?: number;
  /** Override the feature answer bytes (for malformed answers). */
  featureAnswer?: Uint8Array;
  /** Lists FEATURE_VERIFY_PIN_DIRECT but refuses it (SCARD_E_UNSUPPORTED_FEATURE): a reader claiming a pad it has not. */
  padRefuses?: boolean;
}

const SCARD_E_UNSUPPORTED_FEATURE = 'SCardControl error: Feature not supported.(0x8010001f)';
const SCARD_E_INVALID_PARAMETER = 'SCardControl error: Invalid parameter given.(0x80100004)';
export const SIM_VERIFY_PIN_DIRECT_CODE = 0x42330006;
const GET_FEATURE_REQUEST = 0x42000000 + 3400;

export interface Crossing {
  dir: 'to-reader' | 'to-host';
  call: 'transmit' | 'control';
  controlCode?: number;
  bytes: Uint8Array;
}

export class SimPcscliteReader extends EventEmitter {
  // The constants pcsclite's CardReader prototype carries (pcsclite.h), which nfc-pcsc reads.
  readonly SCARD_STATE_EMPTY = 0x10;
  readonly SCARD_STATE_PRESENT = 0x20;
  readonly SCARD_SHARE_SHARED = 2;
  readonly SCARD_SHARE_DIRECT = 3;
  readonly SCARD_LEAVE_CARD = 0;
  readonly SCARD_UNPOWER_CARD = 2;
  readonly SCARD_PROTOCOL_T0 = 1;
  readonly SCARD_PROTOCOL_T1 = 2;
  readonly IOCTL_CCID_ESCAPE = 0x42000000 + 1;
  readonly name: string;
  state = 0;
  connected = false;
  readonly crossed: Crossing[] = [];
  /** Every APDU the pad itself sent to the card (never crosses to the host). */
  readonly padApdus: Uint8Array[] = [];
  private card: VirtualCard | undefined;
  private readonly queue: PadAction[] = [];
  private waiter: ((a: PadAction | 'removed') => void) | undefined;
  private readonly features: ReadonlyMap<number, number> | 'unsupported';
  private readonly msPerSecond: number;
  /** A PIN entry is running (the pad shows its prompt). */
  private entering = false;
  private onEntry: (() => void)[] = [];

  constructor(private readonly o: SimPcscliteReaderOptions = {}) {
    super();
    this.name = o.name ?? 'sim CCID PIN pad reader 00 00';
    this.features = o.features ?? new Map([[0x06, SIM_VERIFY_PIN_DIRECT_CODE]]);
    this.msPerSecond = o.msPerSecond ?? 1000;
  }

  /** Resolves once a PIN entry is running (at once if one is). */
  whenEntering(): Promise<void> {
    if (this.entering) return Promise.resolve();
    return new Promise((r) => this.onEntry.push(r));
  }

  /** Queue what the customer does at the next prompts. */
  press(...actions: PadAction[]): void {
    for (const a of actions) {
      const w = this.waiter;
      if (w) {
        this.waiter = undefined;
        w(a);
      } else this.queue.push(a);
    }
  }

  insert(card: VirtualCard): void {
    this.card = card;
    card.powerOn();
    this.setState(this.SCARD_STATE_PRESENT, card.atr());
  }

  remove(): void {
    this.card?.powerOff();
    this.card = undefined;
    this.connected = false;
    this.setState(this.SCARD_STATE_EMPTY);
    this.waiter?.('removed');
  }

  private setState(state: number, atr?: Uint8Array): void {
    this.emit('status', atr ? { state, atr: Buffer.from(atr) } : { state });
    this.state = state; // pcsclite updates its state after nfc-pcsc compared it
  }

  connect(
    options: { share_mode?: number; protocol?: number } | undefined,
    cb: (err: Error | null, protocol?: number) => void,
  ): void {
    setImmediate(() => {
      if (!this.card) return cb(new Error('SCardConnect error: No smart card inserted.(0x8010000c)'));
      this.connected = true;
      cb(null, this.SCARD_PROTOCOL_T1);
    });
  }

  disconnect(_disposition: number, cb: (err: Error | null) => void): void {
    this.connected = false;
    setImmediate(() => cb(null));
  }

  transmit(data: Buffer, _resLen: number, _protocol: number, cb: (err: Error | null, out?: Buffer) => void): void {
    this.crossed.push({ dir: 'to-reader', call: 'transmit', bytes: Uint8Array.from(data) });
    setImmediate(() => {
      if (!this.card || !this.connected) return cb(new Error('SCardTransmit error: Card was removed.(0x80100069)'));
      const out = this.card.transmit(Uint8Array.from(data));
      this.crossed.push({ dir: 'to-host', call: 'transmit', bytes: out });
      cb(null, Buffer.from(out));
    });
  }

  control(data: Buffer, controlCode: number, _resLen: number, cb: (err: Error | null, out?: Buffer) => void): void {
    this.crossed.push({ dir: 'to-reader', call: 'control', controlCode, bytes: Uint8Array.from(data) });
    const answer = (err: Error | null, out?: Uint8Array) => {
      if (out) this.crossed.push({ dir: 'to-host', call: 'control', controlCode, bytes: out });
      cb(err, out ? Buffer.from(out) : undefined);
    };
    const later = (err: Error | null, out?: Uint8Array) => void setImmediate(() => answer(err, out));
    // pcsclite's JS layer refuses before the native call when no card is connected.
    if (!this.connected) return later(new Error('Card Reader not connected'));
    if (controlCode === GET_FEATURE_REQUEST) {
      if (this.o.featureAnswer) return later(null, this.o.featureAnswer);
      if (this.features === 'unsupported') return later(new Error(SCARD_E_UNSUPPORTED_FEATURE));
      const out: number[] = [];
      for (const [tag, code] of this.features)
        out.push(tag, 4, code >>> 24, (code >>> 16) & 0xff, (code >>> 8) & 0xff, code & 0xff);
      return later(null, Uint8Array.from(out));
    }
    if (this.features !== 'unsupported' && controlCode === this.features.get(0x06) && !this.o.padRefuses) {
      void this.verifyPinDirect(Uint8Array.from(data)).then(
        (sw) => answer(null, sw),
        (e: Error) => answer(e),
      );
      return;
    }
    later(new Error(SCARD_E_UNSUPPORTED_FEATURE));
  }

  close(): void {
    this.emit('_end');
    this.emit('end');
  }

  /** The customer's next action, or 'timeout' when bTimerOut runs out first. */
  private action(timeoutS: number): Promise<PadAction | 'removed'> {
    const queued = this.queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve) => {
      const timer = setTimeout(
        () => {
          this.waiter = undefined;
          resolve('timeout');
        },
        (timeoutS || 30) * this.msPerSecond,
      );
      this.waiter = (a) => {
        clearTimeout(timer);
        resolve(a);
      };
    });
  }

  /** FEATURE_VERIFY_PIN_DIRECT as a CCID reader does it (PC_to_RDR_Secure, bPINOperation 0). */
  private async verifyPinDirect(s: Uint8Array): Promise<Uint8Array> {
    checkVerifyStructure(s);
    this.entering = true;
    for (const f of this.onEntry.splice(0)) f();
    const action = await this.action(s[0]!).finally(() => (this.entering = false));
    if (action === 'removed') throw new Error(CARD_REMOVED);
    if (action === 'hold') return new Promise<never>(() => undefined); // a reader that never answers
    if (action === 'cancel') return Uint8Array.of(0x64, 0x01);
    if (action === 'timeout') return Uint8Array.of(0x64, 0x00);
    const command = ccidVerifyApdu(
      s,
      Array.from(action, (c) => c.charCodeAt(0) - 0x30),
    );
    if (command === 'bad_length') return Uint8Array.of(0x64, 0x03);
    if (!this.card || !this.connected) throw new Error(CARD_REMOVED);
    this.padApdus.push(command);
    const r = this.card.transmit(command);
    return r.subarray(r.length - 2);
  }
}

const CARD_REMOVED = 'SCardControl error: Card was removed.(0x80100069)';

/** What the CCID driver checks before it sends PC_to_RDR_Secure: a header and an APDU, ulDataLength coherent. */
function checkVerifyStructure(s: Uint8Array): void {
  if (s.length < 19 + 4) throw new Error(SCARD_E_INVALID_PARAMETER);
  const dataLength = (s[15]! | (s[16]! << 8) | (s[17]! << 16) | (s[18]! << 24)) >>> 0;
  if (dataLength + 19 !== s.length) throw new Error(SCARD_E_INVALID_PARAMETER);
}

/**
 * The APDU a CCID PIN pad sends the card for a PIN_VERIFY_STRUCTURE and the typed digits, read from
 * the structure's fields alone (CCID §6.1.11.7, PC/SC part 10 §2.5.2); 'bad_length' when the digit
 * count is outside wPINMaxExtraDigit (the pad answers 6403).
 */
export function ccidVerifyApdu(s: Uint8Array, digits: number[]): Uint8Array | 'bad_length' {
  checkVerifyStructure(s);
  const fmt = s[2]!;
  const blockString = s[3]!;
  const lengthFormat = s[4]!;
  const maxExtra = s[5]! | (s[6]! << 8);
  const [minDigits, maxDigits] = [maxExtra >> 8, maxExtra & 0xff];
  if (digits.length < minDigits || digits.length > maxDigits) return 'bad_length';
  const apdu = Uint8Array.from(s.subarray(19));
  // Positions count from the first byte after Lc (the PIN block), in bits or in bytes.
  const base = 5 * 8;
  const setBits = (bitPos: number, width: number, value: number) => {
    for (let i = 0; i < width; i++) {
      const bit = (value >> (width - 1 - i)) & 1;
      const at = base + bitPos + i;
      const byte = at >> 3;
      if (byte >= apdu.length) throw new Error(SCARD_E_INVALID_PARAMETER);
      const mask = 0x80 >> (at & 7);
      apdu[byte] = bit ? apdu[byte]! | mask : apdu[byte]! & ~mask;
    }
  };
  const pinPos = ((fmt >> 3) & 0x0f) * (fmt & 0x80 ? 8 : 1);
  const rightJustify = (fmt & 0x04) !== 0;
  const type = fmt & 0x03; // 0 binary, 1 BCD, 2 ASCII
  const width = type === 1 ? 4 : 8;
  const blockBytes = blockString & 0x0f;
  const lengthBits = blockString >> 4;
  const lengthPos = (lengthFormat & 0x0f) * (lengthFormat & 0x10 ? 8 : 1);
  const pinBits = digits.length * width;
  const start = rightJustify && blockBytes > 0 ? blockBytes * 8 - pinBits : pinPos;
  digits.forEach((d, i) => setBits(start + i * width, width, type === 2 ? 0x30 + d : d));
  if (lengthBits > 0) setBits(lengthPos, lengthBits, digits.length);
  if (blockBytes > 0) return apdu;
  // No fixed block: the PIN ends the data field and Lc follows it.
  const end = 5 + Math.ceil((pinPos + pinBits) / 8);
  const command = apdu.slice(0, end);
  command[4] = end - 5;
  return command;
}
