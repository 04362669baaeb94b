import { createHash } from 'node:crypto';
import { FaultRandom } from '../../bank/faults.js';

/**
 * The soak's seeded choices. Each reader and the fault schedule draw from their own stream (forked by
 * name from the seed), so what one reader draws does not depend on how fast another one went: the
 * same seed gives every reader the same sequence of sales and the run the same sequence of faults.
 */
export class SoakRandom {
  private readonly r: FaultRandom;

  constructor(readonly seed: number) {
    this.r = new FaultRandom(seed);
  }

  /** An independent stream for `label`. */
  fork(label: string): SoakRandom {
    const h = createHash('sha256').update(`${this.seed}/${label}`).digest();
    return new SoakRandom(h.readUInt32BE(0));
  }

  next(): number {
    return this.r.next();
  }

  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }

  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }
}
