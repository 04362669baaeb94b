import type { LeafStep, Step } from '../scenario-schema.js';
import { minorToMoney, moneyToMinor } from './money.js';
import type { Prng } from './prng.js';

/**
 * The steps as they will run: `repeat` unrolled, `oneOf` chosen, random amounts drawn — all from
 * the scenario's seed, before anything runs, so one seed always gives one list. Paths are 1-based:
 * "3" the third step; "4.2.1" the first step of the second round of the repeat at step 4; "5.2" the
 * second option of the oneOf at step 5.
 */
export interface ResolvedStep {
  path: string;
  /** The step's key: sale, insert, … */
  kind: string;
  /** The step's body with random amounts drawn. */
  params: Record<string, unknown>;
  step: LeafStep;
}

export function expandSteps(steps: readonly Step[], rng: Prng): ResolvedStep[] {
  const out: ResolvedStep[] = [];
  steps.forEach((s, i) => expandOne(s, String(i + 1), rng, out));
  return out;
}

function expandOne(step: Step, path: string, rng: Prng, out: ResolvedStep[]): void {
  if ('repeat' in step) {
    for (let round = 1; round <= step.repeat.times; round++)
      step.repeat.steps.forEach((s, j) => expandOne(s, `${path}.${round}.${j + 1}`, rng, out));
    return;
  }
  if ('oneOf' in step) {
    const { index, item } = rng.pick(step.oneOf);
    expandOne(item, `${path}.${index + 1}`, rng, out);
    return;
  }
  const [kind, body] = Object.entries(step)[0]! as [string, unknown];
  const resolved = resolveAmounts(body, rng);
  const params =
    resolved !== null && typeof resolved === 'object' ? (resolved as Record<string, unknown>) : { value: resolved };
  out.push({ path, kind, params, step: { [kind]: resolved } as LeafStep });
}

/** A copy of the body with `amount: {random: [a, b]}` drawn (in whole fen, both ends included). */
function resolveAmounts(body: unknown, rng: Prng): unknown {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return body;
  const copy: Record<string, unknown> = structuredClone(body as Record<string, unknown>);
  const amount = copy.amount;
  if (amount !== null && typeof amount === 'object' && 'random' in amount) {
    const [lo, hi] = (amount as { random: [string, string] }).random;
    copy.amount = minorToMoney(rng.int(moneyToMinor(lo), moneyToMinor(hi)));
  }
  return copy;
}
