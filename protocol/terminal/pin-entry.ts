import type { PinEntryOutcome } from '../transport.js';

/**
 * The terminal's side of PIN_ENTRY (docs/protocol.md §13.4): it sends ISO VERIFY with a format 2
 * PIN block built on the terminal (§2.4; CardClient.isoVerify) and reports only the outcome.
 * Returns undefined for a status word that is not a PIN outcome (the terminal answers ERROR then).
 */
export function pinOutcomeFromSw(sw: number): PinEntryOutcome | undefined {
  if (sw === 0x9000) return { result: 'verified' };
  if ((sw & 0xfff0) === 0x63c0)
    return (sw & 0x0f) === 0 ? { result: 'blocked' } : { result: 'wrong', triesLeft: sw & 0x0f };
  if (sw === 0x6983) return { result: 'blocked' };
  return undefined;
}
