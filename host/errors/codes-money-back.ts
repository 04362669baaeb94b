import { def } from './codes-def.js';
import type { ErrorDef } from './types.js';

/** Voids and refunds (host/card-services/voids.ts, refunds.ts, their routes, `cardpost sale void`, `cardpost refund`). */
export const MONEY_BACK: Record<string, ErrorDef> = {
  VOID_INVALID: def(400, 'bad-input', 'name the sale to void by its id, and optionally the reader holding its card'),
  VOID_SALE_UNKNOWN: def(404, 'not-found', "find the sale in the day's history (cardpost sales) and void it by its id"),
  VOID_NOT_PAID: def(409, 'conflict', 'nothing to give back: the sale was never paid (or the bank refused it)'),
  VOID_TOO_LATE: def(
    409,
    'conflict',
    'the card has paid or been topped up since the sale, so it can no longer void it: refund it instead (cardpost refund --sale ID)',
  ),
  VOID_REFUNDED: def(409, 'conflict', 'the sale was already (partly) refunded: refund the rest instead of voiding it'),
  VOID_NO_CARD: def(409, 'conflict', "put the sale's card in the reader, then void again"),
  VOID_READER_REQUIRED: def(
    422,
    'bad-input',
    'several readers hold a card: name the reader that holds the sale’s card',
  ),
  VOID_WRONG_CARD: def(409, 'conflict', 'the reader holds another card: put the card that paid the sale in the reader'),
  VOID_REFUSED: def(
    409,
    'refused',
    'the card can no longer void this sale (it paid or was topped up since): nothing was given back; refund it instead',
  ),
  VOID_INTERRUPTED: def(
    409,
    'retry',
    'the void is kept: put the card back and void again; the card is asked the same void and answers it once, never twice',
  ),
  REFUND_INVALID: def(
    400,
    'bad-input',
    'name the sale and an amount in minor units (1 … what is left of the sale), as docs/host-api.md §5.8 gives them',
  ),
  REFUND_NOT_FOUND: def(404, 'not-found', "list the day's refunds with GET /api/v1/refunds (cardpost refunds)"),
  REFUND_SALE_UNKNOWN: def(
    404,
    'not-found',
    "find the sale in the day's history (cardpost sales) and refund it by its id",
  ),
  REFUND_KEY_REUSED: def(409, 'conflict', 'use a new Idempotency-Key (refund id) for each new refund'),
  REFUND_NOT_PAID: def(409, 'conflict', 'nothing to give back: the sale was never paid (or the bank refused it)'),
  REFUND_SALE_VOIDED: def(409, 'conflict', 'the sale was voided: its whole amount is already back on the card'),
  REFUND_OVER_REMAINING: def(
    409,
    'conflict',
    'refund at most what is left of the sale (its amount less the refunds already made); the message says how much',
  ),
};
