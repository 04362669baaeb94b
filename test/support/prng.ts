/**
 * Small deterministic PRNG for tests and fuzzing (xoshiro128**, seeded through splitmix32).
 * Same seed ⇒ same sequence on every platform, so a failing fuzz case is reproducible from its seed.
 * NOT for cryptography.
 *
 *   const rng = new Prng(42);
 *   rng.next();      // uint32
 *   rng.int(10);     // 0 … 9
 *   rng.bytes(16);   // Uint8Array(16)
 */
export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  readonly seed: number;

  constructor(seed: number) {
    this.seed = seed >>> 0;
    let s = this.seed;
    const sm = (): number => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = sm();
    this.b = sm();
    this.c = sm();
    this.d = sm();
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  /** Next uint32 (0 … 2^32−1). */
  next(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** Uniform integer in 0 … max−1 (max ≥ 1, up to 2^32). */
  int(max: number): number {
    if (!(max >= 1) || max > 0x1_0000_0000) throw new RangeError(`Prng.int: max must be 1 … 2^32, got ${max}`);
    if (max === 1) return 0;
    // rejection sampling: no modulo bias
    const limit = Math.floor(0x1_0000_0000 / max) * max;
    let x: number;
    do x = this.next();
    while (x >= limit);
    return x % max;
  }

  /** Uniform integer in min … max (inclusive). */
  range(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  /** Float in [0, 1) with 53 random bits. */
  float(): number {
    return ((this.next() >>> 5) * 0x400_0000 + (this.next() >>> 6)) / 2 ** 53;
  }

  /** true with probability p (default ½). */
  bool(p = 0.5): boolean {
    return this.float() < p;
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i += 4) {
      let x = this.next();
      for (let j = i; j < Math.min(n, i + 4); j++) {
        out[j] = x & 0xff;
        x >>>= 8;
      }
    }
    return out;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('Prng.pick: empty list');
    return items[this.int(items.length)]!;
  }

  /** Fisher–Yates shuffle, in place; returns the array. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = items[i]!;
      items[i] = items[j]!;
      items[j] = t;
    }
    return items;
  }

  /** An independent generator derived from this one (for sub-tasks that must not shift the parent sequence). */
  fork(): Prng {
    return new Prng(this.next());
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
