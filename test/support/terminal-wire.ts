import type { Prng } from './prng.js';

/**
 * A simulated serial line between two pure endpoints (SerialLink or TerminalChannel) with a fake
 * clock: what one side outputs arrives at the other after `delayMs`, through an optional fault
 * function. run() advances time to the next deadline or delivery until a condition holds.
 */
export interface Endpoint {
  receive(bytes: Uint8Array, nowMs: number): void;
  poll(nowMs: number): void;
  nextDeadline(): number | null;
  takeOutput(): Uint8Array[];
}

export type Fault = (bytes: Uint8Array, from: 'a' | 'b') => Uint8Array[];

export class Wire {
  now = 0;
  private inTransit: { at: number; to: 'a' | 'b'; bytes: Uint8Array }[] = [];
  bytesCarried = 0;

  constructor(
    readonly a: Endpoint,
    readonly b: Endpoint,
    private readonly opts: { delayMs?: number; fault?: Fault } = {},
  ) {}

  /** Move output of both sides onto the wire. */
  flush(): void {
    for (const [from, to, ep] of [
      ['a', 'b', this.a],
      ['b', 'a', this.b],
    ] as const) {
      for (const frame of ep.takeOutput()) {
        this.bytesCarried += frame.length;
        const parts = this.opts.fault ? this.opts.fault(frame, from) : [frame];
        for (const p of parts) this.inTransit.push({ at: this.now + (this.opts.delayMs ?? 1), to, bytes: p });
      }
    }
  }

  /** One step: deliver what is due, or advance the clock to the next event. Returns false when nothing is left to do. */
  step(): boolean {
    this.flush();
    const due = this.inTransit.filter((t) => t.at <= this.now);
    if (due.length > 0) {
      this.inTransit = this.inTransit.filter((t) => t.at > this.now);
      for (const t of due) (t.to === 'a' ? this.a : this.b).receive(t.bytes, this.now);
      return true;
    }
    const times = [this.a.nextDeadline(), this.b.nextDeadline(), ...this.inTransit.map((t) => t.at)].filter(
      (t): t is number => t !== null,
    );
    if (times.length === 0) return false;
    this.now = Math.max(this.now, Math.min(...times));
    this.a.poll(this.now);
    this.b.poll(this.now);
    return true;
  }

  /** Step until `done()` or the clock passes `limitMs` (fake time) or `maxSteps`. Returns whether done() held. */
  run(done: () => boolean, limitMs = 600_000, maxSteps = 1_000_000): boolean {
    for (let i = 0; i < maxSteps; i++) {
      if (done()) return true;
      if (this.now > limitMs) return false;
      if (!this.step()) return done();
    }
    return done();
  }
}

/** Byte-level line faults for the simulated wire: bit flips, drops, duplicates, with a seeded PRNG. */
export function noisyLine(rng: Prng, rates: { flip?: number; drop?: number; dup?: number; split?: number }): Fault {
  return (bytes) => {
    const out: number[] = [];
    for (const b of bytes) {
      if (rng.bool(rates.drop ?? 0)) continue;
      const v = rng.bool(rates.flip ?? 0) ? b ^ (1 << rng.int(8)) : b;
      out.push(v);
      if (rng.bool(rates.dup ?? 0)) out.push(v);
    }
    const all = Uint8Array.from(out);
    if (all.length > 1 && rng.bool(rates.split ?? 0)) {
      const cut = 1 + rng.int(all.length - 1);
      return [all.subarray(0, cut), all.subarray(cut)];
    }
    return [all];
  };
}
