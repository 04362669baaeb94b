import { EventEmitter } from 'node:events';
import type { CardReader, CardReaderEvents } from '../../protocol/transport.js';
import { TransportError } from '../../protocol/transport.js';
import type { VirtualCard } from './vpcd-link.js';

export interface InProcessReaderOptions {
  name?: string;
  /** Whether this "reader" carries extended APDUs (set false to exercise command chaining). */
  extendedLength?: boolean;
  /** Simulated time per APDU round trip, ms (0 = answer on the next tick). */
  latencyMs?: number;
}

/**
 * A reader object in the host's own process, with the same CardReader interface the PC/SC
 * transport gives the host: for the embedded default (`cardpost demo`) and fast tests. Cards are
 * inserted and pulled by calling insert()/remove(); pulling during a command fails that command
 * with CARD_REMOVED, as a real reader does.
 */
export class InProcessReader extends EventEmitter<CardReaderEvents> implements CardReader {
  readonly name: string;
  readonly extendedLength: boolean;
  private card: VirtualCard | undefined;
  private readonly latencyMs: number;
  private generation = 0;

  constructor(opts: InProcessReaderOptions = {}) {
    super();
    this.name = opts.name ?? 'cardpost in-process reader 0';
    this.extendedLength = opts.extendedLength ?? true;
    this.latencyMs = opts.latencyMs ?? 0;
  }

  get cardPresent(): boolean {
    return this.card !== undefined;
  }

  insert(card: VirtualCard): void {
    if (this.card) this.remove();
    this.card = card;
    this.generation++;
    card.powerOn();
    this.emit('card', { atr: card.atr() });
  }

  remove(): void {
    if (!this.card) return;
    this.card.powerOff();
    this.card = undefined;
    this.generation++;
    this.emit('removed');
  }

  private pause(): Promise<void> {
    return new Promise((r) => (this.latencyMs > 0 ? setTimeout(r, this.latencyMs / 2) : setImmediate(r)));
  }

  async transmit(apdu: Uint8Array): Promise<Uint8Array> {
    const card = this.card;
    if (!card) throw new TransportError('NO_CARD', 'no card in the reader', 'insert or tap the card');
    const gen = this.generation;
    // Half the round trip before the card acts, half after: a card pulled in the first half never
    // saw the command; in the second half it executed it but the answer is lost (what the journal
    // recovery exists for).
    await this.pause();
    if (gen !== this.generation) throw removedError();
    let response: Uint8Array;
    try {
      response = card.transmit(apdu);
    } catch (e) {
      // The card lost power mid-command (tearing hook): to the host it is a pulled card.
      if (this.card === card) {
        this.card = undefined;
        this.generation++;
        this.emit('removed');
      }
      throw removedError(e);
    }
    await this.pause();
    if (gen !== this.generation) throw removedError();
    return response;
  }
}

function removedError(cause?: unknown): TransportError {
  return new TransportError(
    'CARD_REMOVED',
    'the card was removed during the command',
    'insert the card again and retry',
    cause === undefined ? undefined : { cause },
  );
}
