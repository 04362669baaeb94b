import { CardpostError, DecodeError } from '../../../protocol/errors.js';
import {
  CM_IOCTL_GET_FEATURE_REQUEST,
  PCSC_FEATURE,
  buildPinVerifyStructure,
  parsePcscFeatures,
  readPinPadAnswer,
  type PinPadAnswer,
} from '../../../protocol/pcsc/part10.js';
import {
  TransportError,
  type PinEntryOutcome,
  type PinEntryRequest,
  type PinPad,
} from '../../../protocol/transport.js';

/**
 * The PIN pad of a PC/SC reader (CCID secure PIN entry, PC/SC part 10 FEATURE_VERIFY_PIN_DIRECT;
 * docs/protocol.md §2.4). The host sends the reader a PIN_VERIFY_STRUCTURE — a VERIFY APDU template
 * with an empty format 2 PIN block and where to put the digits — and the reader collects the PIN on
 * its own keys, completes the APDU, sends it to the card and answers only the card's status word.
 * No digit ever reaches the host.
 */

/**
 * The reader claims a PIN pad (FEATURE_VERIFY_PIN_DIRECT) but it failed to run it, or the card
 * refused the VERIFY the pad built (a structure this reader does not follow). The sale fails: the
 * host never falls back to asking for the PIN itself within that sale. The pad is then no longer
 * offered on that reader, so the next sale asks for the PIN on the customer display.
 */
export class ReaderPinPadError extends CardpostError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(
      'READER_PIN_PAD_FAILED',
      message,
      "nothing was paid: start the sale again; the customer then types the PIN on the customer display. If the reader's pad should work, update its driver or firmware",
      options,
    );
  }
}

/** What the pad needs of its reader (PcscCardReader gives it). */
export interface PinPadPort {
  readerName(): string;
  /** SCardControl on the connected card's handle; rejects with what pcsclite threw. */
  control(data: Uint8Array, controlCode: number, maxLength: number): Promise<Uint8Array>;
  /** pcsclite's error as a TransportError when the card or the PC/SC service went away; undefined when the reader itself refused. */
  passingError(e: unknown): TransportError | undefined;
  /** A control call the pad stopped waiting for: the reader refuses commands until it returns. */
  leftRunning(call: Promise<unknown>, why: string): void;
  /** The pad proved not to work: stop offering it on this reader. */
  disable(why: string): void;
}

export type FeatureProbe =
  /** The reader offers FEATURE_VERIFY_PIN_DIRECT under this control code. */
  | { kind: 'pin-pad'; verifyCode: number; features: ReadonlyMap<number, number> }
  /** A definite answer without the feature (none listed, the request refused, the list malformed). */
  | { kind: 'none'; why: string }
  /** The request failed for a passing reason (the card left): ask again with the next card. */
  | { kind: 'unknown'; why: string };

/** Ask the reader for its part 10 features (CM_IOCTL_GET_FEATURE_REQUEST) and read the answer strictly. */
export async function probeFeatures(port: Pick<PinPadPort, 'control' | 'passingError'>): Promise<FeatureProbe> {
  let answer: Uint8Array;
  try {
    answer = await port.control(new Uint8Array(0), CM_IOCTL_GET_FEATURE_REQUEST, 256);
  } catch (e) {
    // The card or pcscd went away: ask again next time. Anything else (vpcd answers
    // SCARD_E_UNSUPPORTED_FEATURE) is the reader saying it has no part 10 features.
    const passing = port.passingError(e);
    if (passing) return { kind: 'unknown', why: passing.message };
    return { kind: 'none', why: `the reader refused the feature request (${describe(e)})` };
  }
  let features: Map<number, number>;
  try {
    features = parsePcscFeatures(answer);
  } catch (e) {
    if (e instanceof DecodeError) return { kind: 'none', why: e.message };
    throw e;
  }
  const verifyCode = features.get(PCSC_FEATURE.VERIFY_PIN_DIRECT);
  if (verifyCode === undefined) return { kind: 'none', why: 'the reader lists no FEATURE_VERIFY_PIN_DIRECT' };
  return { kind: 'pin-pad', verifyCode, features };
}

function describe(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const prev = (e as { previous?: unknown }).previous ?? e.cause;
  return prev instanceof Error ? `${e.message} / ${prev.message}` : e.message;
}

/** bTimerOut is one byte of seconds. */
const TIMER_MAX_S = 255;
/** How long past bTimerOut the host waits for the reader's own 6400 before it gives up on the reader. */
const ANSWER_MARGIN_MS = 10_000;
/**
 * 6403 (the typed PIN too short or long) sends the pad back to the customer until the sale's time ends;
 * an answer faster than a person can type is a reader looping by itself, and after this many the pad counts as broken.
 */
const MAX_INSTANT_ANSWERS = 3;
const INSTANT_MS = 300;

export class PcscPinPad implements PinPad {
  constructor(
    private readonly port: PinPadPort,
    readonly verifyCode: number,
  ) {}

  /**
   * One PIN entry on the reader's keys, until the card takes or refuses the PIN, the customer presses
   * Cancel, or the time runs out. bTimerOut holds at most 255 s: a longer sale PIN time asks the pad
   * again when the reader's own time runs out. Aborting `signal` (the sale cancelled, the card pulled)
   * resolves `cancelled` at once, but PC/SC has no standard way to stop a PIN entry: the reader keeps
   * waiting for the digits until the customer presses Cancel on it or its bTimerOut ends, and refuses
   * other commands until then (the next sale on that reader says so).
   */
  async enterPin(req: PinEntryRequest, signal?: AbortSignal): Promise<PinEntryOutcome> {
    const deadline = Date.now() + req.timeoutMs;
    let instant = 0;
    for (;;) {
      if (signal?.aborted) return { result: 'cancelled' };
      const leftMs = deadline - Date.now();
      if (leftMs < 1000) return { result: 'timeout' };
      const timeoutS = Math.min(TIMER_MAX_S, Math.ceil(leftMs / 1000));
      const sent = Date.now();
      const raw = await this.once(timeoutS, signal);
      if (raw === 'aborted') return { result: 'cancelled' };
      const a = this.read(raw);
      switch (a.result) {
        case 'verified':
        case 'blocked':
        case 'cancelled':
          return { result: a.result };
        case 'wrong':
          return { result: 'wrong', triesLeft: a.triesLeft };
        case 'timeout':
          // The reader's time (capped at 255 s) ran out before the sale's: ask again.
          if (leftMs > TIMER_MAX_S * 1000 + 1000) continue;
          return { result: 'timeout' };
        case 'bad_length':
          // The reader refused what was typed (fewer than 4 or more than 12 digits); the card saw nothing.
          if (Date.now() - sent >= INSTANT_MS || ++instant < MAX_INSTANT_ANSWERS) continue;
          return this.broken(
            `${this.port.readerName()}'s PIN pad answers 6403 (wrong PIN length) without waiting for the customer`,
          );
        case 'refused':
          return this.broken(
            `the card refused the VERIFY that ${this.port.readerName()}'s PIN pad built (status word ${a.sw.toString(16).toUpperCase().padStart(4, '0')})`,
          );
      }
    }
  }

  private read(raw: Uint8Array): PinPadAnswer {
    try {
      return readPinPadAnswer(raw);
    } catch (e) {
      if (e instanceof DecodeError) return this.broken(`${this.port.readerName()}: ${e.message}`, e);
      throw e;
    }
  }

  private broken(message: string, cause?: unknown): never {
    this.port.disable(message);
    throw new ReaderPinPadError(message, cause === undefined ? undefined : { cause });
  }

  /** One FEATURE_VERIFY_PIN_DIRECT: the reader's answer, or 'aborted' when `signal` fired first. */
  private once(timeoutS: number, signal: AbortSignal | undefined): Promise<Uint8Array | 'aborted'> {
    const structure = buildPinVerifyStructure({ timeoutS });
    const call = this.port.control(structure, this.verifyCode, 258);
    const busy = `is still waiting for a PIN on its own keys for a sale that ended (up to ${timeoutS} s): press Cancel on the reader's pad`;
    return new Promise((resolve, reject) => {
      let done = false;
      const finish = (): boolean => {
        if (done) return false;
        done = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        return true;
      };
      const onAbort = () => {
        if (!finish()) return;
        this.port.leftRunning(call, busy);
        resolve('aborted');
      };
      const timer = setTimeout(
        () => {
          if (!finish()) return;
          this.port.leftRunning(call, busy);
          reject(
            new TransportError(
              'TIMEOUT',
              `${this.port.readerName()}'s PIN pad did not answer within ${timeoutS + ANSWER_MARGIN_MS / 1000} s`,
              'take the card out and insert it again; if it keeps happening, replug the reader',
            ),
          );
        },
        timeoutS * 1000 + ANSWER_MARGIN_MS,
      );
      signal?.addEventListener('abort', onAbort, { once: true });
      call.then(
        (answer) => {
          if (finish()) resolve(answer);
        },
        (e: unknown) => {
          if (!finish()) return;
          try {
            reject(this.failure(e));
          } catch (err) {
            reject(err);
          }
        },
      );
    });
  }

  /** A failed control call: the card or the service gone is a transport error (the sale waits); anything else breaks the pad. */
  private failure(e: unknown): Error {
    const passing = this.port.passingError(e);
    if (passing) return passing;
    const message = `${this.port.readerName()} lists a PIN pad (PC/SC part 10 FEATURE_VERIFY_PIN_DIRECT) but refused to run it: ${describe(e)}`;
    this.port.disable(message);
    return new ReaderPinPadError(message, { cause: e });
  }
}
