/**
 * What an error code means to the person or program that gets it (docs/errors.md). A small set,
 * each with one thing to do:
 * - `bad-input`: what was sent or typed is wrong; correct it and send again.
 * - `refused`: not allowed (credential, scope, policy); asking again the same way will not help.
 * - `not-found`: no such sale, reader, route or record.
 * - `conflict`: something else is going on (a sale, a reader in use); finish or wait for it.
 * - `decline`: the card cannot pay this sale (funds, limits, blocked, revoked, expired); pay another way.
 * - `retry`: a passing failure (card pulled, reader lost, no answer, the bank or the queue busy);
 *   the same again is safe and will likely work: the host does it by itself where it can.
 * - `unavailable`: the counter cannot do it until someone fixes the set-up (clock, driver, files).
 * - `fault`: a bug, or evidence of a broken or forged card or answer; report it, keep the evidence.
 * - `notice`: not an error: a sale tells what happened (its `notice`), nothing to do.
 */
export type ErrorKind =
  'bad-input' | 'refused' | 'not-found' | 'conflict' | 'decline' | 'retry' | 'unavailable' | 'fault' | 'notice';

/** Each kind in a line, for docs/errors.md. */
export const KIND_MEANINGS: Readonly<Record<ErrorKind, string>> = {
  'bad-input': 'what was sent or typed is wrong: correct it and send again',
  refused: 'not allowed (credential, scope, policy): asking again the same way will not help',
  'not-found': 'no such sale, reader, route or record',
  conflict: 'something else is going on (a sale, a reader in use, a payment not yet confirmed): finish or wait for it',
  decline: 'the card cannot pay this sale: pay another way',
  retry: 'a passing failure: the same again is safe and will likely work (the host retries by itself where it can)',
  unavailable: 'the counter cannot do it until someone fixes the set-up (clock, driver, files, database)',
  fault: 'a bug, or evidence of a broken or forged card or answer: report it, keep the evidence',
  notice: 'not an error: a sale tells what happened, nothing to do',
};

export const ERROR_KINDS = Object.keys(KIND_MEANINGS) as ErrorKind[];

export interface ErrorDef {
  /**
   * The HTTP status the local API answers with this code; `null` when the code never is an API
   * answer (the CLI's own errors, or a code seen only in a sale's `error`/`notice`, or fastify's
   * own codes, whose status fastify sets).
   */
  readonly status: number | null;
  readonly kind: ErrorKind;
  /** What to do, in a sentence a merchant or an integrator can act on. */
  readonly advice: string;
}

/** One exact code, or a family: every code starting with `prefix`, or every error of a protocol class. */
export interface ErrorEntry extends ErrorDef {
  readonly code: string;
  /** `prefix`: `code` ends with `*` and stands for every code that starts so; `class`: every code of that error class. */
  readonly family?: 'prefix' | 'class';
}

export interface ErrorGroup {
  readonly title: string;
  /** Where these codes come from (a sentence for docs/errors.md). */
  readonly source: string;
  readonly entries: readonly ErrorEntry[];
}
