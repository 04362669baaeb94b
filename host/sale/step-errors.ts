import { CardpostError } from '../../protocol/errors.js';
import { TransportError } from '../../protocol/transport.js';
import type { StepFailure } from './sale-machine.js';
import { toSaleError } from './sale-types.js';
import { isRetry } from '../errors/registry.js';

/** A card step stopped on purpose: cancelled, timed out, the card pulled during PIN entry, or the wrong card. */
export class Interrupted extends Error {
  constructor(readonly why: 'cancelled' | 'timed_out' | 'card_removed' | 'other_card') {
    super(why);
  }
}

/** SIGN_TXN came back with something the host cannot take; whether the card signed is read from its journal. */
export class UnclearAnswer extends Error {
  constructor(override readonly cause: CardpostError) {
    super(cause.message);
  }
}

/** What a failed card step means for the sale, read from the error it threw. */
export function readFailure(e: unknown): StepFailure {
  if (e instanceof UnclearAnswer) return { kind: 'unclear_answer', error: toSaleError(e.cause) };
  if (e instanceof Interrupted) return { kind: 'interrupted', why: e.why };
  // Transport failures after which the same sale goes on when the card is back (pulled, reader hiccup).
  if (e instanceof TransportError && isRetry(e.transportCode)) {
    return { kind: 'card_gone', error: toSaleError(e) };
  }
  if (e instanceof CardpostError) return { kind: 'fatal', error: toSaleError(e) };
  return {
    kind: 'fatal',
    error: {
      code: 'INTERNAL',
      message: `unexpected error: ${e instanceof Error ? e.message : String(e)}`,
      hint: 'report this with the daemon log',
    },
  };
}
