import { isDeepStrictEqual } from 'node:util';

/** A value as a failure line shows it: money and names bare, lists joined, nothing as "none". */
export function shown(v: unknown): string {
  if (v === undefined || v === null) return 'none';
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.length ? `[${v.map(shown).join(', ')}]` : '[]';
  return JSON.stringify(v);
}

/**
 * One line per field whose expected value (given: not undefined) differs from the actual one:
 * `${prefix}${field}: expected 487.50, got 475.00`.
 */
export function compareFields(
  expected: Record<string, unknown>,
  actual: Record<string, unknown>,
  prefix = '',
): string[] {
  const out: string[] = [];
  for (const [field, want] of Object.entries(expected)) {
    if (want === undefined) continue;
    const got = actual[field];
    if (!isDeepStrictEqual(want, got)) out.push(`${prefix}${field}: expected ${shown(want)}, got ${shown(got)}`);
  }
  return out;
}
