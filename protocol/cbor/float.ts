/**
 * IEEE 754 helpers for preferred (shortest exact) float serialisation, RFC 8949 §4.2.2 / §3.3.
 * Pure arithmetic: scaling by powers of two is exact in binary64, so no scratch buffers are needed.
 */

const TWO_POW_24 = 2 ** 24;
const TWO_POW_M14 = 2 ** -14;
const TWO_POW_M24 = 2 ** -24;

/**
 * The binary16 bit pattern that represents `v` exactly, or −1 if none does.
 * NaN is not handled here (the canonical NaN is always 0x7e00).
 */
export function halfBitsExact(v: number): number {
  const sign = v < 0 || Object.is(v, -0) ? 0x8000 : 0;
  const a = Math.abs(v);
  if (a === Infinity) return sign | 0x7c00;
  if (a === 0) return sign;
  if (a > 65504 || a < TWO_POW_M24) return -1;
  if (a < TWO_POW_M14) {
    // subnormal half: a = m · 2^−24, 1 ≤ m ≤ 1023
    const m = a * TWO_POW_24;
    return Number.isInteger(m) ? sign | m : -1;
  }
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  else if (2 ** (e + 1) <= a) e++;
  const m = (a / 2 ** e - 1) * 1024;
  return Number.isInteger(m) ? sign | ((e + 15) << 10) | m : -1;
}

/** Value of a binary16 bit pattern. */
export function halfToNumber(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * TWO_POW_M24;
  if (e === 31) return m === 0 ? s * Infinity : NaN;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** Width in bytes (2, 4 or 8) of the shortest IEEE format that holds `v` exactly (NaN → 2). */
export function shortestFloatWidth(v: number): 2 | 4 | 8 {
  if (v !== v) return 2;
  if (Math.fround(v) !== v) return 8;
  return halfBitsExact(v) >= 0 ? 2 : 4;
}
