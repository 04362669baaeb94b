import { CardStatusError, type NewPinProblem } from '../../protocol/commands/index.js';
import { CardpostError } from '../../protocol/errors.js';
import type { CardSession } from '../session/card-session.js';
import { PinServiceError } from './pin-service-io.js';
import type { EntryNotice, PinServiceEvent } from './pin-service-machine.js';

/** What the PIN service tells the customer and the merchant when a step goes wrong (codes in host/errors/codes.ts). */

/** CHANGE_PIN / UNBLOCK_PIN is atomic on the card, but its answer was lost: old or new PIN, not known which. */
export const UNCLEAR: PinServiceEvent = {
  type: 'FAILED',
  error: {
    code: 'PIN_CHANGE_UNCLEAR',
    message: 'the card left the reader while it was setting the new PIN: it has either the new PIN or the old one',
    hint: 'insert the card and let the customer try the new PIN (for a payment or a change); if the card refuses it, the old PIN still works',
  },
};

export const MISMATCH: EntryNotice = {
  code: 'PIN_MISMATCH',
  message: 'the two new PINs differ',
  hint: 'choose the new PIN again and type it twice the same',
};

export function weakNotice(problem: NewPinProblem): EntryNotice {
  const why: Record<NewPinProblem, string> = {
    format: 'a PIN is 4 to 12 digits',
    repeated: 'one digit repeated is too easy to guess',
    sequence: 'a run like 1234 or 4321 is too easy to guess',
    unchanged: 'the new PIN is the same as the old one',
  };
  return { code: 'PIN_TOO_WEAK', message: why[problem], hint: 'choose another PIN of 4 to 12 digits' };
}

/** VERIFY: undefined when right, else the tries left (a blocked PIN throws). */
export async function verifyOrTries(session: CardSession, pin: Uint8Array): Promise<number | undefined> {
  try {
    await session.client.verifyPin(pin);
    return undefined;
  } catch (e) {
    if (e instanceof CardStatusError && e.statusName === 'PIN_INVALID') return e.retries ?? 0;
    throw e;
  }
}

/** The serial transport's PinPadUnsupportedError, known by its marker (card-services does not import a transport). */
export function isPadUnsupported(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { pinPadUnsupported?: unknown }).pinPadUnsupported === true;
}

export function failure(e: unknown): PinServiceEvent {
  if (e instanceof PinServiceError && e.code === 'PIN_SERVICE_TIMED_OUT') return { type: 'TIMEOUT' };
  if (e instanceof CardpostError) return { type: 'FAILED', error: { code: e.code, message: e.message, hint: e.hint } };
  return {
    type: 'FAILED',
    error: {
      code: 'INTERNAL',
      message: `unexpected error: ${e instanceof Error ? e.message : String(e)}`,
      hint: 'report this with the daemon log',
    },
  };
}
