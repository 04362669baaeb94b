import { EventEmitter } from 'node:events';
import {
  TransportError,
  type CardReader,
  type CardReaderEvents,
  type PinEntryOutcome,
  type PinEntryRequest,
  type PinPad,
} from '../../../protocol/transport.js';
import type { MessageOf, OutgoingRequest, ResponseMessage } from '../../../protocol/terminal/index.js';

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
 * sees the PIN. When the link goes down the card counts as removed and 'end' is NOT emitted: the
 * terminal reconnects by itself and announces the card again (INFO.cardPresent).
 */
export class TerminalCardReader extends EventEmitter<CardReaderEvents> implements CardReader {
  extendedLength = true;
  readonly pinPad: PinPad;
  private present = false;

  constructor(
    private readonly terminal: TerminalSlotLink,
    readonly name: string,
  ) {
    super();
    this.pinPad = { enterPin: (req, signal) => this.enterPin(req, signal) };
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
    if (signal?.aborted) return { result: 'cancelled' };
    let requestId: number | undefined;
    const onAbort = () => {
      if (requestId !== undefined) this.terminal.cancelRequest(requestId);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const r = await this.terminal.call(
        {
          type: 'PIN_ENTRY',
          amount: req.amount,
          currency: req.currency,
          timeoutMs: req.timeoutMs,
          ...(req.triesLeft !== undefined ? { triesLeft: req.triesLeft } : {}),
        },
        'PIN_RESULT',
        req.timeoutMs + PIN_ANSWER_MARGIN_MS,
        (id) => {
          requestId = id;
        },
      );
      if (r.outcome === 'wrong') return { result: 'wrong', triesLeft: r.triesLeft ?? 0 };
      return { result: r.outcome };
    } catch (e) {
      if (signal?.aborted) return { result: 'cancelled' };
      throw e;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** @internal INFO arrived (connect or reconnect). */
  linkUp(extendedLength: boolean, cardPresent: boolean, atr: Uint8Array | undefined): void {
    this.extendedLength = extendedLength;
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
