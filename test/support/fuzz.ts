import { strict as assert } from 'node:assert';
import { encodeCanonical, type CborValue } from '../../protocol/cbor/index.js';
import { DecodeError, EncodeError } from '../../protocol/errors.js';

/** Shared knobs of the fuzz suites: FUZZ_SEED overrides a suite's seed, FUZZ_ROUNDS multiplies its case counts. */
export const fuzzSeed = (fallback: number): number => Number(process.env.FUZZ_SEED ?? fallback) >>> 0;
export const FUZZ_ROUNDS = Number(process.env.FUZZ_ROUNDS ?? 1);
export const hexSeed = (s: number): string => `0x${(s >>> 0).toString(16)}`;

/** An unexpected exception, with its stack, for a failure message. */
export function explain(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ''}` : String(e);
}

const STACK_LIMIT = Error.stackTraceLimit;

/**
 * Run fn; its result, or the DecodeError it threw. Anything else fails the test, naming the input.
 * Suites turn stack capture off in their hot loops (it dominates ~10^5 expected DecodeErrors); an
 * unexpected exception is re-run with stacks on, so its report is useful.
 */
export function attempt<T>(what: string, input: () => string, fn: () => T): T | DecodeError {
  try {
    return fn();
  } catch (e) {
    if (e instanceof DecodeError) return e;
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = Math.max(STACK_LIMIT, 20);
    let again: unknown = e;
    try {
      fn();
    } catch (e2) {
      again = e2;
    } // the same input again, for a stack
    Error.stackTraceLimit = limit;
    return assert.fail(`${what} threw a non-DecodeError for ${input()}: ${explain(again)}`);
  }
}

/** Canonical bytes of v, or undefined when the model value is not encodable (the harness then skips it). */
export function tryEncode(v: CborValue): Uint8Array | undefined {
  try {
    return encodeCanonical(v);
  } catch (e) {
    if (e instanceof EncodeError) return undefined;
    throw e;
  }
}
