import type { ErrorDef } from './types.js';
import { def } from './codes-def.js';

/** The PIN service (host/card-services/pin-service*.ts, its route, `cardpost card change-pin|unblock`). */
export const PIN_SERVICE: Record<string, ErrorDef> = {
  PIN_UNBLOCK_NOT_ALLOWED: def(
    403,
    'refused',
    'the issuer keeps PUK unblocking to itself: send the holder to the issuer or a bank branch with the card and the PUK letter',
  ),
  PIN_ENTRY_NOT_HERE: def(
    403,
    'refused',
    "the customer types PINs on the customer display's keypad (or the terminal's pad), never with the bearer token or on the counter page",
  ),
  PIN_SERVICE_NOT_FOUND: def(404, 'not-found', 'start one from the counter page or with `cardpost card change-pin`'),
  PIN_SERVICE_NOT_ASKING: def(409, 'conflict', 'send the digits only for the step the service shows now'),
  PIN_SERVICE_CANNOT_CANCEL: def(409, 'conflict', 'the card is changing the PIN: wait a moment for the result'),
  PIN_SERVICE_READER_REQUIRED: def(422, 'bad-input', 'several readers could hold the card: name the reader'),
  PIN_SERVICE_NO_CARD: def(null, 'retry', 'insert or tap the card, then start the PIN service again'),
  PIN_SERVICE_TIMED_OUT: def(null, 'retry', 'nothing was changed on the card: start again when the customer is ready'),
  PIN_SERVICE_CANCELLED: def(
    null,
    'conflict',
    'nothing was changed on the card: start again when the customer is ready',
  ),
  PIN_CHANGE_UNCLEAR: def(
    null,
    'retry',
    'insert the card and let the customer try the new PIN; if the card refuses it, the old PIN still works',
  ),
  PIN_MISMATCH: def(null, 'retry', 'the customer chooses the new PIN again and types it twice the same'),
  PIN_TOO_WEAK: def(
    null,
    'retry',
    'the customer chooses another PIN: not one digit repeated, not a run like 1234, not the old PIN',
  ),
  PUK_WRONG: def(
    null,
    'retry',
    'the customer checks the PUK letter and types it again; the notice gives the tries left',
  ),
};
