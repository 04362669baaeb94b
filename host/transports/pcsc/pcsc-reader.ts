import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { TransportError, type CardReader, type CardReaderEvents, type PinPad } from '../../../protocol/transport.js';
import type { NfcPcsc, NfcPcscCard, NfcPcscConstructor, NfcPcscReader } from './nfc-pcsc-types.js';
import { CM_IOCTL_GET_FEATURE_REQUEST } from '../../../protocol/pcsc/part10.js';
import { PcscPinPad, probeFeatures, type FeatureProbe, type PinPadPort } from './pcsc-pin-pad.js';

/** PC/SC codes (pcsclite.h) that mean the card went away, and that the service did. */
const CARD_GONE = [
  '0x80100069',
  '0x80100068',
  '0x80100066',
  'SCARD_W_REMOVED_CARD',
  'SCARD_W_RESET_CARD',
  'removed',
  'reset',
];
/** The exchange broke off (SCARD_E_NOT_TRANSACTED, SCARD_F_COMM_ERROR): with vpcd and real readers alike, a card pulled mid-command. */
const EXCHANGE_BROKEN = ['0x80100016', '0x80100013', 'SCARD_E_NOT_TRANSACTED', 'SCARD_F_COMM_ERROR'];
const SERVICE_GONE = [
  '0x8010001d',
  '0x8010001e',
  '0x80100017',
  'SCARD_E_NO_SERVICE',
  'SCARD_E_SERVICE_STOPPED',
  'no_service',
];

function causeText(e: unknown): string {
  const parts: string[] = [];
  for (let x: unknown = e, i = 0; x && i < 4; i++) {
    const err = x as { message?: string; previous?: unknown; cause?: unknown };
    if (err.message) parts.push(err.message);
    x = err.previous ?? err.cause;
  }
  return parts.join(' / ');
}

/**
 * Turn whatever nfc-pcsc/pcsclite threw into one of our typed transport errors. `during` says where:
 * a broken-off exchange means the card during a transmit, but the service when the reader context
 * reports it (pcscd stopping shows as SCARD_F_COMM_ERROR there, and PcscSource must reconnect).
 */
export function mapPcscError(e: unknown, during: 'transmit' | 'context' = 'context'): TransportError {
  const text = causeText(e);
  const lower = text.toLowerCase();
  if (CARD_GONE.some((c) => lower.includes(c.toLowerCase()))) {
    return new TransportError(
      'CARD_REMOVED',
      `the card was removed during the command (${text})`,
      'insert the card again and retry',
      { cause: e },
    );
  }
  if (during === 'transmit' && EXCHANGE_BROKEN.some((c) => lower.includes(c.toLowerCase()))) {
    return new TransportError(
      'CARD_REMOVED',
      `the exchange with the card broke off: it was removed or lost contact during the command (${text})`,
      'insert the card again and retry',
      { cause: e },
    );
  }
  if (SERVICE_GONE.some((c) => lower.includes(c.toLowerCase()))) {
    return new TransportError(
      'READER_GONE',
      `the PC/SC service stopped (${text})`,
      'start pcscd (systemctl start pcscd); cardpost reconnects by itself',
      { cause: e },
    );
  }
  if (lower.includes('card_not_connected') || lower.includes('no card')) {
    return new TransportError('NO_CARD', 'no card is connected in the reader', 'insert or tap the card', { cause: e });
  }
  return new TransportError(
    'READER_GONE',
    `the reader failed: ${text || String(e)}`,
    'check the reader cable; unplug and replug it',
    { cause: e },
  );
}

/**
 * pcsclite's error as a TransportError when the card or the PC/SC service went away (or the card is
 * no longer connected); undefined when the reader itself refused the call (an unsupported control code).
 */
export function passingPcscError(e: unknown): TransportError | undefined {
  if (e instanceof TransportError) return e; // ours already (the reader busy, a watchdog)
  const lower = causeText(e).toLowerCase();
  const gone =
    [...CARD_GONE, ...EXCHANGE_BROKEN, ...SERVICE_GONE].some((c) => lower.includes(c.toLowerCase())) ||
    lower.includes('not connected') ||
    lower.includes('no card');
  return gone ? mapPcscError(e, 'transmit') : undefined;
}

/** Load nfc-pcsc (an optional dependency with a native part) or say exactly what is missing. */
export async function loadNfcPcsc(): Promise<NfcPcscConstructor> {
  try {
    const mod = (await import('nfc-pcsc')) as unknown as {
      NFC?: NfcPcscConstructor;
      default?: { NFC?: NfcPcscConstructor };
    };
    const NFC = mod.NFC ?? mod.default?.NFC;
    if (!NFC) throw new Error('nfc-pcsc has no NFC export');
    return NFC;
  } catch (e) {
    throw new TransportError(
      'TRANSPORT_UNAVAILABLE',
      `PC/SC readers are unavailable: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`,
      'install the PC/SC stack and rebuild: apt-get install pcscd libpcsclite-dev && npm rebuild',
      { cause: e },
    );
  }
}

export interface PcscReaderOptions {
  extendedLength?: boolean;
  /** How long one command may take before the host stops waiting (default 30 s). */
  transmitTimeoutMs?: number;
}

export const DEFAULT_TRANSMIT_TIMEOUT_MS = 30_000;
const CM_FEATURE_REQUEST = CM_IOCTL_GET_FEATURE_REQUEST;
/** CM_IOCTL_GET_FEATURE_REQUEST is SCARD_CTL_CODE(3400). */
const FEATURE_REQUEST_CODE = 3400;

/** One PC/SC reader (contact or NFC) as the host's CardReader. */
export class PcscCardReader extends EventEmitter<CardReaderEvents> implements CardReader {
  readonly extendedLength: boolean;
  private readonly transmitTimeoutMs: number;
  private present = false;
  /** A command given up on by the watchdog whose native call has not returned yet. */
  private hung: Promise<unknown> | undefined;
  /** Why the reader is busy while `hung` (a command that never answered, or a PIN entry left running). */
  private hungWhy = 'is still busy with a command that never answered';
  /** The card announced to the host ('card' emitted for it). */
  private announced = false;
  /** Counts insertions and removals, so a feature request that outlives its card announces nothing. */
  private generation = 0;
  /** The reader's part 10 features, once it gave a definite answer (features do not change with the card). */
  private features: FeatureProbe | undefined;
  private pad: PcscPinPad | undefined;

  constructor(
    private readonly reader: NfcPcscReader,
    opts: PcscReaderOptions = {},
  ) {
    super();
    this.extendedLength = opts.extendedLength ?? false;
    this.transmitTimeoutMs = opts.transmitTimeoutMs ?? DEFAULT_TRANSMIT_TIMEOUT_MS;
    reader.autoProcessing = false; // we speak ISO 7816 ourselves; no NFC tag UID probing
    reader.on('card', (card) => {
      this.present = true;
      const generation = ++this.generation;
      // With a card connected, ask once for the reader's PIN pad before the host sees the card.
      if (this.features || !reader.reader) this.announce(card);
      else void this.probe().then(() => generation === this.generation && this.announce(card));
    });
    reader.on('card.off', () => {
      this.present = false;
      this.generation++;
      if (!this.announced) return;
      this.announced = false;
      this.emit('removed');
    });
    reader.on('error', (err) => {
      if (this.listenerCount('error') > 0) this.emit('error', mapPcscError(err));
    });
    reader.on('end', () => {
      this.present = false;
      this.emit('end');
    });
  }

  get name(): string {
    return this.reader.name;
  }
  /** The reader's own PIN pad, when it lists FEATURE_VERIFY_PIN_DIRECT (PC/SC part 10). */
  get pinPad(): PinPad | undefined {
    return this.pad;
  }
  /** A native call the host stopped waiting for still runs (a hung command, a PIN entry left on the pad). */
  get busy(): boolean {
    return this.hung !== undefined;
  }
  /** What the reader answered about its PIN pad (for the log); undefined until a card was connected. */
  get pinPadFeature(): FeatureProbe | undefined {
    return this.features;
  }

  private announce(card: NfcPcscCard): void {
    this.announced = true;
    this.emit('card', { atr: Uint8Array.from(card.atr ?? []) });
  }

  private async probe(): Promise<void> {
    let found: FeatureProbe;
    try {
      found = await probeFeatures(this.port);
    } catch (e) {
      found = { kind: 'unknown', why: e instanceof Error ? e.message : String(e) };
    }
    if (found.kind === 'unknown') return; // the card left or pcscd went: ask with the next card
    this.features = found;
    this.pad = found.kind === 'pin-pad' ? new PcscPinPad(this.port, found.verifyCode) : undefined;
  }

  /** SCardControl on the card's handle, for the PIN pad (pcsclite's own reader object, not nfc-pcsc's escape-only control()). */
  private readonly port: PinPadPort = {
    readerName: () => this.name,
    control: (data, controlCode, maxLength) => {
      const raw = this.reader.reader;
      if (!raw) return Promise.reject(new Error('SCardControl is not available on this reader'));
      if (this.hung) return Promise.reject(this.timeoutError(this.hungWhy));
      const call = new Promise<Uint8Array>((resolve, reject) => {
        // The feature request's own code is platform-specific (the codes the reader lists are not).
        const code =
          controlCode === CM_FEATURE_REQUEST && raw.SCARD_CTL_CODE
            ? raw.SCARD_CTL_CODE(FEATURE_REQUEST_CODE)
            : controlCode;
        raw.control(Buffer.from(data), code, maxLength, (err, out) => {
          if (err) reject(err);
          else resolve(Uint8Array.from(out ?? []));
        });
      });
      // The feature request is a quick question: the usual watchdog. A PIN entry has its own (bTimerOut + margin).
      return controlCode === CM_FEATURE_REQUEST ? this.withWatchdog(call) : call;
    },
    passingError: (e) => passingPcscError(e),
    leftRunning: (call, why) => this.markBusy(call, why),
    disable: () => {
      this.pad = undefined;
      this.features = { kind: 'none', why: 'its PIN pad failed' };
    },
  };

  get cardPresent(): boolean {
    return this.present;
  }

  async transmit(apdu: Uint8Array): Promise<Uint8Array> {
    if (!this.present) throw new TransportError('NO_CARD', `no card in ${this.name}`, 'insert or tap the card');
    // Another native call would only queue behind the hung one (and hold a libuv pool thread): refuse at once.
    if (this.hung) throw this.timeoutError(this.hungWhy);
    try {
      // 65536 data + SW: room for the longest extended response; pcscd caps it to what the reader allows.
      const r = await this.withWatchdog(this.reader.transmit(Buffer.from(apdu), 65538));
      // No status word: the exchange broke off. vpcd (and readers losing contact) answer a card pulled
      // mid-command this way, before pcscd reports the removal; the card may have acted on the command.
      if (r.length < 2) {
        throw new TransportError(
          'CARD_REMOVED',
          `the reader returned ${r.length} bytes and no status word: the card was removed or lost contact during the command`,
          'insert the card again and retry',
        );
      }
      return Uint8Array.from(r);
    } catch (e) {
      throw e instanceof TransportError ? e : mapPcscError(e, 'transmit');
    }
  }

  /**
   * SCardTransmit has no time limit of its own: a hung card, reader driver or pcscd would hold the sale
   * (and the reader) forever. The native call cannot be cancelled; past the limit its answer is dropped,
   * and the card may have acted on the command (the sale engine treats TIMEOUT during SIGN_TXN as such).
   */
  private withWatchdog<T>(call: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.markBusy(call, 'is still busy with a command that never answered');
        reject(this.timeoutError(`did not answer within ${Math.round(this.transmitTimeoutMs / 1000)} s`));
      }, this.transmitTimeoutMs);
    });
    return Promise.race([call, limit]).finally(() => clearTimeout(timer));
  }

  /** A native call still running that the host stopped waiting for: refuse other commands until it returns. */
  private markBusy(call: Promise<unknown>, why: string): void {
    const settled = call.then(
      () => undefined,
      () => undefined,
    ); // a late failure is not an unhandled rejection
    this.hung = settled;
    this.hungWhy = why;
    void settled.then(() => {
      if (this.hung === settled) this.hung = undefined;
    });
  }

  private timeoutError(what: string): TransportError {
    return new TransportError(
      'TIMEOUT',
      `${this.name} ${what}`,
      'take the card out and insert it again; if it keeps happening, replug the reader or restart pcscd',
    );
  }
}

export interface PcscReaderSourceEvents {
  reader: [PcscCardReader];
  error: [TransportError];
}

/** All PC/SC readers on this machine, as they come and go. */
export class PcscReaderSource extends EventEmitter<PcscReaderSourceEvents> {
  private readonly readers = new Map<string, PcscCardReader>();

  private constructor(
    private readonly nfc: NfcPcsc,
    opts: PcscReaderOptions,
  ) {
    super();
    nfc.on('reader', (r) => {
      const reader = new PcscCardReader(r, opts);
      this.readers.set(reader.name, reader);
      reader.on('end', () => this.readers.delete(reader.name));
      this.emit('reader', reader);
    });
    nfc.on('error', (e) => {
      if (this.listenerCount('error') > 0) this.emit('error', mapPcscError(e));
    });
  }

  static async open(opts: PcscReaderOptions = {}): Promise<PcscReaderSource> {
    // libpcsclite blocks the whole process while it waits for a pcscd that is not there: look first.
    const socket = process.env.PCSCLITE_CSOCK_NAME || '/run/pcscd/pcscd.comm';
    if (!existsSync(socket)) {
      throw new TransportError(
        'TRANSPORT_UNAVAILABLE',
        `the PC/SC service is not running (no ${socket})`,
        'start it: systemctl start pcscd (or run pcscd), then try again',
      );
    }
    const NFC = await loadNfcPcsc();
    return new PcscReaderSource(new NFC(), opts);
  }

  list(): PcscCardReader[] {
    return [...this.readers.values()];
  }

  /** Resolve with the first reader whose name matches, waiting up to `timeoutMs`. */
  waitForReader(match: (name: string) => boolean, timeoutMs: number): Promise<PcscCardReader> {
    const found = this.list().find((r) => match(r.name));
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('reader', on);
        reject(
          new TransportError(
            'TIMEOUT',
            `no matching PC/SC reader appeared in ${timeoutMs} ms`,
            'check that pcscd is running and the reader is plugged in',
          ),
        );
      }, timeoutMs);
      const on = (r: PcscCardReader) => {
        if (match(r.name)) {
          clearTimeout(timer);
          this.off('reader', on);
          resolve(r);
        }
      };
      this.on('reader', on);
    });
  }

  close(): void {
    this.nfc.close();
  }
}
