import type { CborValue, MapReader } from '../cbor/index.js';
import { DecodeError } from '../errors.js';
import type { PinChangeOutcome, PinEntryOutcome } from '../transport.js';

/**
 * PIN_ENTRY and PIN_RESULT (docs/protocol.md §13.4): what the terminal does with its own PIN pad —
 * `verify` (the PIN for a payment: ISO VERIFY), `change` (current PIN, new PIN twice: ISO CHANGE
 * REFERENCE DATA) or `unblock` (PUK, new PIN twice: ISO RESET RETRY COUNTER). The terminal builds
 * the command with format 2 PIN blocks itself (§2.4) and reports only the outcome: no field of
 * either message can carry a PIN, a PUK or a PIN block.
 */

export const PIN_ENTRY_MODES = ['verify', 'change', 'unblock'] as const;
export type PinEntryMode = (typeof PIN_ENTRY_MODES)[number];
/** `changed` answers `change` and `unblock`; `verified` answers `verify`; the others any mode. */
export const PIN_OUTCOMES = ['verified', 'changed', 'wrong', 'blocked', 'cancelled', 'timeout'] as const;
export type PinOutcomeName = (typeof PIN_OUTCOMES)[number];

/** PIN_ENTRY's time-out bounds (ms): the whole dialogue, every entry of a change included. */
export const PIN_TIMEOUT = Object.freeze({ min: 1000, max: 600_000 });
/** Tries left, as a status word 63Cx can carry them. */
export const PIN_TRIES_MAX = 15;

/**
 * PIN_ENTRY's own fields. The amount and currency (keys 3, 4) are required when the mode is
 * `verify` (key 7 absent or "verify") and MUST be absent otherwise: a PIN change pays nothing.
 */
export type PinEntryFields = PinVerifyFields | PinServiceFields;
export interface PinVerifyFields {
  mode?: 'verify';
  amount: number;
  currency: number;
  triesLeft?: number;
  timeoutMs: number;
}
export interface PinServiceFields {
  mode: 'change' | 'unblock';
  triesLeft?: number;
  timeoutMs: number;
}

/** The PIN service modes (a new PIN is chosen on the pad). */
export function isPinServiceMode(mode: PinEntryMode | undefined): mode is 'change' | 'unblock' {
  return mode === 'change' || mode === 'unblock';
}

/** Whether a PIN_ENTRY is for a payment (`verify`: it carries the amount). */
export function isPinVerify<T extends PinEntryFields>(m: T): m is Extract<T, PinVerifyFields> {
  return !isPinServiceMode(m.mode);
}

/** PIN_ENTRY's keys 3–7 for encoding (undefined values are left out). */
export function pinEntryEntries(m: PinEntryFields): [number, CborValue][] {
  if (!isPinVerify(m)) return [...tail(m), [7, m.mode]];
  return [[3, m.amount], [4, m.currency], ...tail(m), [7, m.mode]];
}
const tail = (m: PinEntryFields): [number, CborValue][] => [
  [5, m.triesLeft],
  [6, m.timeoutMs],
];

/** Read and validate PIN_ENTRY's keys 3–7 (the caller's reader rejects any other key). */
export function readPinEntry(
  r: MapReader,
  ranges: { amount: { min: number; max: number }; currency: { min: number; max: number } },
): PinEntryFields {
  const mode = r.opt.oneOf(7, PIN_ENTRY_MODES);
  const triesLeft = r.opt.uint(5, { max: PIN_TRIES_MAX });
  const timeoutMs = r.uint(6, PIN_TIMEOUT);
  const tries = triesLeft === undefined ? {} : { triesLeft };
  if (isPinServiceMode(mode)) {
    for (const key of [3, 4])
      if (r.has(key))
        throw new DecodeError(
          'CBOR_SCHEMA',
          `${r.field(key)} must be absent when mode is "${mode}"`,
          'a PIN change or unblock shows no amount: send keys 3 and 4 only with mode "verify" (or no mode)',
        );
    return { mode, ...tries, timeoutMs };
  }
  return {
    ...(mode === undefined ? {} : { mode }),
    amount: r.uint(3, ranges.amount),
    currency: r.uint(4, ranges.currency),
    ...tries,
    timeoutMs,
  };
}

/**
 * The terminal's side of `verify`: ISO VERIFY's status word as an outcome. Undefined for a status
 * word that is not a PIN outcome (the terminal answers ERROR then).
 */
export function pinOutcomeFromSw(sw: number): PinEntryOutcome | undefined {
  if (sw === 0x9000) return { result: 'verified' };
  return secretOutcome(sw);
}

/**
 * The terminal's side of `change` and `unblock`: the status word of CHANGE REFERENCE DATA or RESET
 * RETRY COUNTER as an outcome (63Cx counts the tries of what was typed first: the PIN's for a
 * change, the PUK's for an unblock). Undefined for a status word that is not a PIN outcome.
 */
export function pinChangeOutcomeFromSw(sw: number): PinChangeOutcome | undefined {
  if (sw === 0x9000) return { result: 'changed' };
  return secretOutcome(sw);
}

function secretOutcome(sw: number): { result: 'wrong'; triesLeft: number } | { result: 'blocked' } | undefined {
  if ((sw & 0xfff0) === 0x63c0)
    return (sw & 0x0f) === 0 ? { result: 'blocked' } : { result: 'wrong', triesLeft: sw & 0x0f };
  if (sw === 0x6983) return { result: 'blocked' };
  return undefined;
}

/** A PIN_RESULT's fields, as the host reads them. */
export interface PinResultFields {
  outcome: PinOutcomeName;
  triesLeft?: number;
}

/** The host's side of `verify`: the outcome, or undefined when the answer does not fit the mode (`changed`). */
export function pinEntryOutcome(r: PinResultFields): PinEntryOutcome | undefined {
  if (r.outcome === 'changed') return undefined;
  if (r.outcome === 'wrong') return { result: 'wrong', triesLeft: r.triesLeft ?? 0 };
  return { result: r.outcome };
}

/** The host's side of `change` and `unblock`: the outcome, or undefined when it does not fit (`verified`). */
export function pinChangeOutcome(r: PinResultFields): PinChangeOutcome | undefined {
  if (r.outcome === 'verified') return undefined;
  if (r.outcome === 'wrong') return { result: 'wrong', triesLeft: r.triesLeft ?? 0 };
  return { result: r.outcome };
}
