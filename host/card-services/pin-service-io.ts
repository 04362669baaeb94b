import { CardpostError } from '../../protocol/errors.js';
import { isValidPin, PUK_MAX, PUK_MIN } from '../../protocol/commands/index.js';
import { TransportError, type CardReader } from '../../protocol/transport.js';
import type { ReaderHub } from '../readers/reader-hub.js';
import type { SaleTimers } from '../sale/sale-timers.js';
import type { EntryStep } from './pin-service-machine.js';

/** A refused PIN service request or a failed service, with its code in host/errors/codes.ts. */
export class PinServiceError extends CardpostError {}

/** Where a step's digits go once the display sends them. */
export interface Entry {
  step: EntryStep;
  put: (digits: Uint8Array) => void;
}

/** The typed digits as the card takes them (ASCII), or PIN_FORMAT: a PUK is 8 to 12 digits, a PIN 4 to 12. */
export function inputOf(step: EntryStep, typed: string): Uint8Array {
  const bytes = new TextEncoder().encode(typed);
  const ok = step === 'puk' ? isValidPin(bytes, PUK_MIN, PUK_MAX) : isValidPin(bytes);
  if (!ok) {
    bytes.fill(0);
    throw new PinServiceError(
      'PIN_FORMAT',
      step === 'puk' ? 'a PUK is 8 to 12 digits' : 'a PIN is 4 to 12 digits',
      'type it again, digits only',
    );
  }
  return bytes;
}

/** Wait (up to `ms`) for a card in the reader; the merchant may start the service before the card is there. */
export function waitForCard(
  hub: ReaderHub,
  name: string,
  timers: SaleTimers,
  ms: number,
  signal: AbortSignal,
): Promise<void> {
  const reader = hub.get(name);
  if (!reader) return Promise.reject(new TransportError('READER_GONE', `reader ${name} went away`, 'connect it again'));
  if (reader.cardPresent) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = timers.setTimer(() => {
      done();
      reject(
        new PinServiceError(
          'PIN_SERVICE_NO_CARD',
          `no card came to ${name}`,
          'insert or tap the card, then start again',
        ),
      );
    }, ms);
    const onCard = () => {
      done();
      resolve();
    };
    const onAbort = () => {
      done();
      reject(signal.reason);
    };
    const done = () => {
      timers.clearTimer(timer);
      reader.off('card', onCard);
      signal.removeEventListener('abort', onAbort);
    };
    if (signal.aborted) return onAbort();
    reader.on('card', onCard);
    signal.addEventListener('abort', onAbort);
  });
}

/** Abort the service when the card leaves the reader; returns the detach. */
export function cardGone(reader: CardReader, abort: AbortController): () => void {
  const onRemoved = () =>
    abort.abort(
      new TransportError(
        'CARD_REMOVED',
        'the card was taken out during the PIN service',
        'nothing was changed unless the screen said so: insert the card and start again',
      ),
    );
  reader.on('removed', onRemoved);
  return () => reader.off('removed', onRemoved);
}
