/**
 * Line-fault injection for the simulated terminal's serial line, on what it sends and what it
 * receives: bit flips, dropped and duplicated bytes, garbage bursts (sometimes with false start
 * markers), and split or merged writes. Rates are per byte (flip, drop, dup) or per chunk (garbage,
 * split, merge); a seeded PRNG makes every run reproducible.
 */
export interface LineFaultRates {
  /** Per byte: flip one random bit. */
  flip?: number;
  /** Per byte: lose it. */
  drop?: number;
  /** Per byte: send it twice. */
  dup?: number;
  /** Per chunk: add a burst of 1…32 random bytes before it. */
  garbage?: number;
  /** Per chunk: cut it in two, written separately. */
  split?: number;
  /** Per chunk: hold it back briefly and write it together with what follows. */
  merge?: number;
}

export interface LineFaultStats {
  flipped: number;
  dropped: number;
  duplicated: number;
  garbageBytes: number;
  splits: number;
  merges: number;
}

export class LineFaults {
  readonly stats: LineFaultStats = { flipped: 0, dropped: 0, duplicated: 0, garbageBytes: 0, splits: 0, merges: 0 };
  private state: number;

  constructor(
    readonly rates: LineFaultRates,
    seed = 1,
  ) {
    for (const [k, v] of Object.entries(rates)) {
      if (v !== undefined && !(v >= 0 && v <= 1))
        throw new RangeError(`line fault rate ${k} must be 0…1, got ${String(v)}`);
    }
    this.state = seed >>> 0 || 1;
  }

  get active(): boolean {
    return Object.values(this.rates).some((v) => (v ?? 0) > 0);
  }

  /** mulberry32: small, seedable, good enough for fault placement (not for cryptography). */
  private random(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  private chance(rate: number | undefined): boolean {
    return (rate ?? 0) > 0 && this.random() < rate!;
  }

  /** Apply the byte faults and garbage to one chunk; returns the pieces to write (split applied). */
  apply(chunk: Uint8Array): Uint8Array[] {
    if (!this.active) return [chunk];
    const out: number[] = [];
    if (this.chance(this.rates.garbage)) {
      const n = 1 + Math.floor(this.random() * 32);
      for (let i = 0; i < n; i++)
        out.push(this.random() < 0.1 ? (i % 2 === 0 ? 0xa5 : 0x5a) : Math.floor(this.random() * 256));
      this.stats.garbageBytes += n;
    }
    for (const b of chunk) {
      if (this.chance(this.rates.drop)) {
        this.stats.dropped++;
        continue;
      }
      let v = b;
      if (this.chance(this.rates.flip)) {
        v ^= 1 << Math.floor(this.random() * 8);
        this.stats.flipped++;
      }
      out.push(v);
      if (this.chance(this.rates.dup)) {
        out.push(v);
        this.stats.duplicated++;
      }
    }
    const all = Uint8Array.from(out);
    if (all.length > 1 && this.chance(this.rates.split)) {
      this.stats.splits++;
      const cut = 1 + Math.floor(this.random() * (all.length - 1));
      return [all.subarray(0, cut), all.subarray(cut)];
    }
    return [all];
  }

  /** Whether to hold this chunk back and merge it with the next ones. */
  holdBack(): boolean {
    const hold = this.chance(this.rates.merge);
    if (hold) this.stats.merges++;
    return hold;
  }
}
