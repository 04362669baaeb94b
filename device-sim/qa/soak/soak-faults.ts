import type { QaReader, QaStack } from '../qa-types.js';
import type { LineFaultRatesSpec } from '../scenario-schema.js';
import type { FaultMode } from './soak-options.js';
import type { SoakRandom } from './soak-random.js';
import { daemonBack, readersListed, settleAll, sleep } from './soak-api.js';

/** The faults the soak injects, each drawn from the seed (docs/qa.md "qa soak"). */
export const FAULT_KINDS = [
  'card-pull',
  'line-noise',
  'bank-down',
  'bank-latency',
  'drop-after-commit',
  'daemon-kill',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** The faults this reader mix can carry: line noise needs a serial terminal. */
export function enabledFaults(mode: FaultMode, readers: readonly QaReader[]): FaultKind[] {
  if (mode === 'none') return [];
  return FAULT_KINDS.filter((k) => k !== 'line-noise' || readers.some((r) => r.medium === 'serial'));
}

/** Seconds between two faults: light about one every 15 s, heavy one every 3 s or so. */
const GAP_S: Record<Exclude<FaultMode, 'none'>, [number, number]> = { light: [8, 25], heavy: [1, 6] };

/**
 * Which faults a round carries. Faults come at intervals drawn from the seed (so "light" means the
 * same on a fast machine as on a slow one); the first ones go through every kind once, in a seeded
 * order, so a short run meets each; then kinds are drawn at random. Heavy mode sometimes stacks two.
 */
export class FaultSchedule {
  private readonly firstPass: FaultKind[];
  private nextAt: number | undefined;

  constructor(
    private readonly rng: SoakRandom,
    private readonly mode: FaultMode,
    private readonly kinds: FaultKind[],
  ) {
    this.firstPass = rng.shuffle(kinds);
  }

  private gapMs(): number {
    if (this.mode === 'none') return Infinity;
    const [lo, hi] = GAP_S[this.mode];
    return this.rng.int(lo * 1000, hi * 1000);
  }

  next(now: number): FaultKind[] {
    if (this.kinds.length === 0) return [];
    this.nextAt ??= now + this.gapMs();
    if (now < this.nextAt) return [];
    this.nextAt = now + this.gapMs();
    const kind = this.firstPass.shift() ?? this.rng.pick(this.kinds);
    // Heavy: sometimes a second fault on top, of another kind (the bank down while the daemon is killed).
    if (this.mode === 'heavy' && this.rng.chance(0.3)) {
      const other = this.rng.pick(this.kinds.filter((k) => k !== kind));
      if (other) return [kind, other];
    }
    return [kind];
  }
}

export function lineNoiseRates(mode: FaultMode): LineFaultRatesSpec {
  return mode === 'heavy'
    ? { flip: 0.002, drop: 0.001, dup: 0.001, garbage: 0.1, split: 0.2, merge: 0.1 }
    : { flip: 0.0005, garbage: 0.05, split: 0.1, merge: 0.05 };
}

/** Set the round's bank faults (one config: the sim bank's faults are replaced, not merged). */
export function applyBankFaults(stack: QaStack, faults: readonly FaultKind[], mode: FaultMode): void {
  const f: { down?: boolean; latencyMs?: number; dropAfterCommitRate?: number } = {};
  if (faults.includes('bank-down')) f.down = true;
  if (faults.includes('bank-latency')) f.latencyMs = mode === 'heavy' ? 2500 : 1200;
  if (faults.includes('drop-after-commit')) f.dropAfterCommitRate = 1;
  stack.bank.setFaults(f);
}

/** kill -9 the daemon at a random moment of the round (often mid-sale), then start it again. */
export async function killDaemonDuring(stack: QaStack, rng: SoakRandom, onRestart: () => void): Promise<string[]> {
  await sleep(rng.int(50, 900));
  await stack.daemon.kill9();
  await sleep(rng.int(0, 500));
  try {
    await stack.daemon.start();
  } catch (e) {
    // A daemon that cannot start again after kill -9 is what the soak is there to find.
    return [`the daemon did not start again after kill -9: ${(e as Error).message}`];
  }
  onRestart();
  const problems: string[] = [];
  if (!(await daemonBack(stack, 30_000))) problems.push('the daemon did not answer after its restart');
  if (!(await readersListed(stack))) problems.push('the daemon did not list every reader again after its restart');
  return problems;
}

/**
 * Undo the round's faults and wait for the counter to recover from them: line quiet, bank up, every
 * record stored while the bank was away or its answers were cut settled. Returns what did not recover.
 */
export async function recoverFrom(
  stack: QaStack,
  faults: readonly FaultKind[],
  noisy: QaReader | undefined,
): Promise<string[]> {
  const problems: string[] = [];
  if (noisy) noisy.lineNoise({ send: {}, receive: {} });
  stack.bank.setFaults({});
  if (faults.some((f) => f === 'bank-down' || f === 'bank-latency' || f === 'drop-after-commit')) {
    const left = await settleAll(stack, 45_000);
    if (left !== 0) problems.push(`${left} records still unsettled 45 s after the bank came back`);
  }
  return problems;
}
