import { bytesEqual } from '../../protocol/bytes.js';
import { LIFECYCLE } from '../../protocol/commands/index.js';
import type { Nvm, NvmTransaction } from './nvm.js';
import {
  PIN_TRIES,
  PUK_TRIES,
  readLifecycle,
  readPinRetries,
  readPukRetries,
  readSecrets,
  writeLifecycle,
  writePinRetries,
  writePukRetries,
} from './card-state.js';

/**
 * PIN and PUK checks (docs/protocol.md §6.2). The rule, for both: read the tries; at 0 never
 * compare; otherwise spend the try in ONE transaction, which at 0 also blocks (PIN: tries 0 is
 * the blocked state) or terminates (PUK: the TERMINATED mark is written with it), and only then
 * compare. A power cut therefore leaves either nothing done or the try spent with its
 * consequence, never "tries 0 on a card that still compares". A right answer restores the
 * counter in one more transaction, together with whatever the command changes (`then`).
 */

export type CheckResult = { ok: true; retries: number } | { ok: false; retries: number };

/** Check a PIN. `then` writes the command's own changes in the transaction that restores the tries. */
export function checkPin(nvm: Nvm, candidate: Uint8Array, then?: (tx: NvmTransaction) => void): CheckResult {
  const secrets = readSecrets(nvm);
  const retries = readPinRetries(nvm);
  if (!secrets || retries === 0) return { ok: false, retries: 0 };
  nvm.transaction((tx) => writePinRetries(tx, retries - 1));
  if (!bytesEqual(candidate, secrets.pin)) return { ok: false, retries: retries - 1 };
  nvm.transaction((tx) => {
    writePinRetries(tx, PIN_TRIES);
    then?.(tx);
  });
  return { ok: true, retries: PIN_TRIES };
}

/**
 * Check a PUK. On the last try the card is terminated in the same transaction that spends it; a
 * right PUK then restores the stored life cycle (as `then` may change it) with the tries.
 */
export function checkPuk(nvm: Nvm, candidate: Uint8Array, then?: (tx: NvmTransaction) => void): CheckResult {
  const secrets = readSecrets(nvm);
  const tries = readPukRetries(nvm);
  const stored = readLifecycle(nvm);
  if (!secrets || tries === 0 || stored === LIFECYCLE.TERMINATED) return { ok: false, retries: 0 };
  nvm.transaction((tx) => {
    writePukRetries(tx, tries - 1);
    if (tries - 1 === 0) writeLifecycle(tx, LIFECYCLE.TERMINATED);
  });
  if (!bytesEqual(candidate, secrets.puk)) return { ok: false, retries: tries - 1 };
  nvm.transaction((tx) => {
    writePukRetries(tx, PUK_TRIES);
    if (tries - 1 === 0) writeLifecycle(tx, stored);
    then?.(tx);
  });
  return { ok: true, retries: PUK_TRIES };
}
