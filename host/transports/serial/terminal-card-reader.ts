import { EventEmitter } from 'node:events';
import {
  TransportError,
  type CardReader,
  type CardReaderEvents,
  type PinChangeOutcome,
  type PinChangeRequest,
  type PinEntryOutcome,
  type PinEntryRequest,
  type PinPad,
} from '../../../protocol/transport.js';
import {
  PIN_TIMEOUT,
  pinChangeOutcome,
  pinEntryOutcome,
  type MessageOf,
  type OutgoingRequest,
  type ResponseMessage,
  type TerminalErrorCode,
} from '../../../protocol/terminal/index.js';
import {
  PIN_MODE_REFUSALS,
  PinPadUnsupportedError,
  SerialTerminalError,
  TerminalRefusedError,
} from './terminal-errors.js';

/**
 * What the slot needs of the terminal's link: SerialTerminal implements it. (The reader depends on
 * this interface, not on SerialTerminal, so the two modules do not import each other.)
 */
export interface TerminalSlotLink {
  /** HELLO answered and the link up. */
  readonly connected: boolean;
  /** The deadline of one tunnelled APDU, ms. */
  readonly apduTimeout: number;
  /** Send a request and wait for its answer (READER_GONE when the link is or goes down, TIMEOUT, TERMINAL_REFUSED). */
  call<T extends ResponseMessage['type']>(
    request: OutgoingRequest,
    expect: T,
    timeoutMs: number,
    onId?: (id: number) => void,
  ): Promise<MessageOf<T>>;
  /** Send a CANCEL for one of our requests (a PIN entry) and forget it. */
  cancelRequest(requestId: number): void;
}

/** Extra time the host waits beyond the customer's PIN time-out, for the terminal to answer. */
const PIN_ANSWER_MARGIN_MS = 10_000;

/**
 * The serial terminal's card slot as a CardReader: APDUs are tunnelled (APDU → APDU_RESPONSE),
 * 'card'/'removed' follow CARD_EVENT, and `pinPad` asks for the PIN on the terminal's own pad
 * (PIN_ENTRY): the terminal builds VERIFY itself and only the outcome comes back — the host never
 * sees the PIN. `pinPad.changePin` runs a PIN change or unblock on the pad the same way (PIN_ENTRY
 * mode `change`/`unblock`); a terminal whose firmware has no modes makes it throw
 * PinPadUnsupportedError. When the link goes down the card counts as removed and 'end' is NOT
 * emitted: the terminal reconnects by itself and announces the card again (INFO.cardPresent).
 */
export class TerminalCardReader extends EventEmitter<CardReaderEvents> implements CardReader {
  extendedLength = true;
  readonly pinPad: PinPad;
  private present = false;
  /** The ERROR code with which the terminal refused PIN_ENTRY modes; cleared by the next INFO (new firmware, maybe). */
  private noPinModes: TerminalErrorCode | undefined;

  constructor(
    private readonly terminal: TerminalSlotLink,
    readonly name: string,
  ) {
    super();
    this.pinPad = {
      enterPin: (req, signal) => this.enterPin(req, signal),
      changePin: (req, signal) => this.changePin(req, signal),
    };
  }

  get cardPresent(): boolean {
    return this.present;
  }

  async transmit(apdu: Uint8Array): Promise<Uint8Array> {
    if (!this.terminal.connected)
      throw new TransportError(
        'READER_GONE',
        `${this.name} is not connected`,
        'the terminal reconnects by itself; check its cable and power',
      );
    if (!this.present)
      throw new TransportError('NO_CARD', `no card in the slot of ${this.name}`, 'insert the card in the terminal');
    const r = await this.terminal.call({ type: 'APDU', apdu }, 'APDU_RESPONSE', this.terminal.apduTimeout);
    return r.response;
  }

  private async enterPin(req: PinEntryRequest, signal?: AbortSignal): Promise<PinEntryOutcome> {
    const r = await this.pinEntry(
      {
        type: 'PIN_ENTRY',
        amount: req.amount,
        currency: req.currency,
        timeoutMs: req.timeoutMs,
        ...(req.triesLeft !== undefined ? { triesLeft: req.triesLeft } : {}),
      },
      signal,
    );
    if (r === 'cancelled') return { result: 'cancelled' };
    return pinEntryOutcome(r) ?? this.misfit('verify', r.outcome);
  }

  /**
   * PIN change or unblock on the terminal's pad (PIN_ENTRY mode `change`/`unblock`, §13.4). The
   * terminal collects the current PIN or the PUK and the new PIN twice and sends the ISO command
   * itself; only the outcome comes back. Aborting `signal` sends CANCEL and resolves `cancelled`.
   * Throws PinPadUnsupportedError when the terminal's firmware has no PIN_ENTRY modes (ERROR
   * BAD_MESSAGE or UNSUPPORTED): fall back to the customer display's keypad. timeoutMs (the whole
   * dialogue) is kept within 1 s … 600 s.
   */
  private async changePin(req: PinChangeRequest, signal?: AbortSignal): Promise<PinChangeOutcome> {
    if (this.noPinModes) throw this.unsupported(this.noPinModes, 'before');
    let r: MessageOf<'PIN_RESULT'> | 'cancelled';
    try {
      r = await this.pinEntry(
        {
          type: 'PIN_ENTRY',
          mode: req.mode,
          timeoutMs: Math.min(PIN_TIMEOUT.max, Math.max(PIN_TIMEOUT.min, Math.round(req.timeoutMs))),
          ...(req.triesLeft !== undefined ? { triesLeft: Math.min(15, Math.max(0, req.triesLeft)) } : {}),
        },
        signal,
      );
    } catch (e) {
      if (e instanceof TerminalRefusedError && PIN_MODE_REFUSALS.has(e.terminalCode)) {
        this.noPinModes = e.terminalCode;
        throw this.unsupported(e.terminalCode, 'now');
      }
      throw e;
    }
    if (r === 'cancelled') return { result: 'cancelled' };
    return pinChangeOutcome(r) ?? this.misfit(req.mode, r.outcome);
  }

  /** Send one PIN_ENTRY and wait for its PIN_RESULT; 'cancelled' when `signal` aborted it (CANCEL sent). */
  private async pinEntry(
    request: Extract<OutgoingRequest, { type: 'PIN_ENTRY' }>,
    signal: AbortSignal | undefined,
  ): Promise<MessageOf<'PIN_RESULT'> | 'cancelled'> {
    if (signal?.aborted) return 'cancelled';
    let requestId: number | undefined;
    const onAbort = () => {
      if (requestId !== undefined) this.terminal.cancelRequest(requestId);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await this.terminal.call(request, 'PIN_RESULT', request.timeoutMs + PIN_ANSWER_MARGIN_MS, (id) => {
        requestId = id;
      });
    } catch (e) {
      if (signal?.aborted) return 'cancelled';
      throw e;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  private unsupported(code: TerminalErrorCode, when: 'now' | 'before'): PinPadUnsupportedError {
    return new PinPadUnsupportedError(
      code,
      `${this.name} cannot change or unblock a PIN on its own pad: it ${when === 'now' ? 'answers' : 'answered'} PIN_ENTRY with a mode with ERROR ${code} (firmware without PIN_ENTRY modes)`,
    );
  }

  private misfit(mode: string, outcome: string): never {
    throw new SerialTerminalError(
      'TERMINAL_REFUSED',
      `${this.name} answered a PIN entry in mode ${mode} with outcome ${outcome}`,
      'a terminal firmware bug: the outcome does not fit the mode; report it',
    );
  }

  /** @internal INFO arrived (connect or reconnect). */
  linkUp(extendedLength: boolean, cardPresent: boolean, atr: Uint8Array | undefined): void {
    this.extendedLength = extendedLength;
    this.noPinModes = undefined;
    if (cardPresent) this.cardEvent('inserted', atr);
  }

  /** @internal the link went down: the card may have been swapped meanwhile, so it counts as removed. */
  linkLost(): void {
    if (this.present) {
      this.present = false;
      this.emit('removed');
    }
  }

  /** @internal CARD_EVENT from the terminal. */
  cardEvent(event: 'inserted' | 'removed', atr: Uint8Array | undefined): void {
    if (event === 'inserted') {
      if (this.present) return;
      this.present = true;
      this.emit('card', { atr: atr ?? new Uint8Array(0) });
    } else if (this.present) {
      this.present = false;
      this.emit('removed');
    }
  }
}
