/** Fault injection for QA (docs/bank-api.md §8). */
import { CardpostError } from '../../protocol/errors.js';

export interface FaultConfig {
  /** Fraction (0…1) of requests answered 500 or 503 before anything is done. */
  errorRate?: number;
  /** Delay (ms) added before a request is processed. */
  latencyMs?: number;
  /** Fraction (0…1) of requests never answered: the socket is held open until the client gives up. */
  timeoutRate?: number;
  /** Fraction (0…1) of batch / top-up requests whose work is committed, then the socket destroyed with no response. */
  dropAfterCommitRate?: number;
  /** true: every request gets 503 BANK_DOWN; 'reset': every connection is destroyed as it opens. */
  down?: boolean | 'reset';
  /** Seed of the fault PRNG, for reproducible runs (setting it restarts the sequence). */
  seed?: number;
  /** Enables POST/GET /v1/_faults (construction only; never through the endpoint itself). */
  adminEndpoint?: boolean;
}

export type EffectiveFaults = Required<Omit<FaultConfig, 'seed'>> & { seed: number };

const RATES = ['errorRate', 'timeoutRate', 'dropAfterCommitRate'] as const;

/** Validate a partial fault config (from code or from the admin endpoint); throws CardpostError FAULTS_INVALID. */
export function validateFaults(input: unknown, opts: { allowAdmin: boolean }): FaultConfig {
  const bad = (detail: string): never => {
    throw new CardpostError(
      'FAULTS_INVALID',
      `fault config: ${detail}`,
      'rates are numbers 0…1, latencyMs a number 0…600000, down true/false/"reset", seed an integer',
    );
  };
  if (typeof input !== 'object' || input === null || Array.isArray(input)) bad('expected an object');
  const o = input as Record<string, unknown>;
  const out: FaultConfig = {};
  for (const [k, v] of Object.entries(o)) {
    if ((RATES as readonly string[]).includes(k)) {
      if (typeof v !== 'number' || !(v >= 0 && v <= 1)) bad(`${k} must be a number from 0 to 1`);
      out[k as (typeof RATES)[number]] = v as number;
    } else if (k === 'latencyMs') {
      if (typeof v !== 'number' || !(v >= 0 && v <= 600_000)) bad('latencyMs must be a number from 0 to 600000');
      out.latencyMs = v as number;
    } else if (k === 'down') {
      if (v !== true && v !== false && v !== 'reset') bad('down must be true, false or "reset"');
      out.down = v as boolean | 'reset';
    } else if (k === 'seed') {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffff_ffff)
        bad('seed must be an integer 0…2^32−1');
      out.seed = v as number;
    } else if (k === 'adminEndpoint' && opts.allowAdmin) {
      if (typeof v !== 'boolean') bad('adminEndpoint must be a boolean');
      out.adminEndpoint = v as boolean;
    } else {
      bad(`unknown field "${k}"`);
    }
  }
  return out;
}

/** mulberry32: tiny seeded PRNG for fault decisions (not for cryptography). */
export class FaultRandom {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 0x1_0000_0000;
  }
  /** true with probability p; draws nothing when p is 0 or 1, so unrelated faults do not shift the sequence. */
  chance(p: number): boolean {
    if (p <= 0) return false;
    if (p >= 1) return true;
    return this.next() < p;
  }
}

export class FaultState {
  private cfg: EffectiveFaults;
  private rng: FaultRandom;

  constructor(initial: FaultConfig = {}) {
    const v = validateFaults(initial, { allowAdmin: true });
    const seed = v.seed ?? (Math.random() * 0x1_0000_0000) >>> 0;
    this.cfg = {
      errorRate: 0,
      latencyMs: 0,
      timeoutRate: 0,
      dropAfterCommitRate: 0,
      down: false,
      adminEndpoint: false,
      ...v,
      seed,
    };
    this.rng = new FaultRandom(seed);
  }

  get current(): Readonly<EffectiveFaults> {
    return { ...this.cfg };
  }

  /** Merge a partial config; adminEndpoint cannot be changed after construction. */
  set(partial: unknown): Readonly<EffectiveFaults> {
    const v = validateFaults(partial, { allowAdmin: false });
    this.cfg = { ...this.cfg, ...v };
    if (v.seed !== undefined) this.rng = new FaultRandom(v.seed);
    return this.current;
  }

  chance(p: number): boolean {
    return this.rng.chance(p);
  }
}
