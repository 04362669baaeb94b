/** Shared knobs of the fuzz suites: FUZZ_SEED overrides a suite's seed, FUZZ_ROUNDS multiplies its case counts. */
export const fuzzSeed = (fallback: number): number => Number(process.env.FUZZ_SEED ?? fallback) >>> 0;
export const FUZZ_ROUNDS = Number(process.env.FUZZ_ROUNDS ?? 1);
export const hexSeed = (s: number): string => `0x${(s >>> 0).toString(16)}`;

/** An unexpected exception, with its stack, for a failure message. */
export function explain(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ''}` : String(e);
}
