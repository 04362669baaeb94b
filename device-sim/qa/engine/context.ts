import type { DeviceEvent, QaStack, ScenarioResult } from '../qa-types.js';
import type { SaleFollower } from './sale-follower.js';
export { pause, throwIfStopped } from './pause.js';

/** One invariant that did not hold (device-sim/qa/invariants.ts). */
export interface InvariantFinding {
  invariant: string;
  message: string;
  expected?: unknown;
  actual?: unknown;
}

/** What the engine needs besides the stack (injected, so the engine is tested on a fake stack). */
export interface EngineDeps {
  checkInvariants(stack: QaStack, opts?: { requireSettled?: boolean }): Promise<InvariantFinding[]>;
}

/** A sale a step labelled (`as`), for finish, cancel, void and refund. */
export interface LabelledSale {
  saleId: string | undefined;
  /** Scenario name of the reader it was bound to, and of the card in it then. */
  reader: string | undefined;
  card: string | undefined;
  follower: SaleFollower | undefined;
}

/** The state of one scenario's run, shared by the step executors. */
export interface StepContext {
  readonly stack: QaStack;
  readonly signal: AbortSignal;
  readonly seed: number;
  readonly deps: EngineDeps;
  readonly sales: Map<string, LabelledSale>;
  /** Every sale being followed, so the clean-up can end them. */
  readonly followers: Set<SaleFollower>;
  readonly screenshots: ScenarioResult['screenshots'];
  /** The runner's own lines for the timeline (steps starting and ending). */
  readonly runnerEvents: DeviceEvent[];
  readonly startedAt: number;
  /** The step running now. */
  path: string;
}

/** What a step found: its result (free of timings and random ids) and the differences from what was expected. */
export interface StepOutcome {
  result?: unknown;
  /** One line per difference, e.g. "expected outcome paid, got failed CARD_REMOVED". */
  differences?: string[];
  expected?: unknown;
  actual?: unknown;
}

export type StepExecutor = (ctx: StepContext, params: Record<string, unknown>) => Promise<StepOutcome>;

/** The code of an error answer (`{error: {code}}`, docs/host-api.md §11). */
export function answerCode(body: unknown): string | undefined {
  const e = (body as { error?: { code?: unknown } } | null)?.error;
  return typeof e?.code === 'string' ? e.code : undefined;
}

/** The named thing or a step error saying it is not there (the loader checks names; this is for robustness). */
export function must<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`${what} is not part of this run`);
  return value;
}
