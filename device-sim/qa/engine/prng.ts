/**
 * The scenario's seeded randomness: every random choice of a run (amounts, oneOf, and the seeds the
 * stack gives its line faults and bank faults) is drawn from the scenario's seed, so a run replays
 * exactly with `--seed`. mulberry32: tiny, fast, and good enough for test choices (not for keys).
 */
export class Prng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 2^32). */
  nextU32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** An integer in [lo, hi], both included. */
  int(lo: number, hi: number): number {
    if (hi < lo) [lo, hi] = [hi, lo];
    return lo + Math.floor((this.nextU32() / 2 ** 32) * (hi - lo + 1));
  }

  pick<T>(items: readonly T[]): { index: number; item: T } {
    const index = this.int(0, items.length - 1);
    return { index, item: items[index]! };
  }
}

/** An independent seed for one use of the scenario seed (FNV-1a of the label mixed in), so uses do not share draws. */
export function deriveSeed(seed: number, label: string): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (const ch of label) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return new Prng(h).nextU32();
}
