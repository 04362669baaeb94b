import type { LoadedScenario } from '../load.js';
import type { ProcessRegistry, QaHost, QaStack, ScenarioResult, StackOptions, StepRecord } from '../qa-types.js';
import type { Scenario } from '../scenario-schema.js';
import { CardpostError } from '../../../protocol/errors.js';
import { interrupted } from '../qa-errors.js';
import type { EngineDeps, StepContext, StepExecutor, StepOutcome } from './context.js';
import { describeStep } from './describe.js';
import { DEVICE_STEPS } from './device-steps.js';
import { evaluate, checkStep } from './expectations.js';
import { expandSteps, type ResolvedStep } from './expand.js';
import { throwIfStopped } from './pause.js';
import { MONEY_BACK_STEPS } from './money-back-steps.js';
import { deriveSeed, Prng } from './prng.js';
import { SALE_STEPS } from './sale-steps.js';
import { WAIT_STEPS } from './wait-steps.js';

/**
 * Runs one scenario on a stack (docs/qa.md): steps in order, each recorded with its status, result
 * and failure; the first step that fails or breaks ends the scenario (the rest are `skipped`), then
 * the final `expect` — and, whatever happened, the clean-up: live sales cancelled, the stack closed.
 */

const EXECUTORS: Record<string, StepExecutor> = {
  ...SALE_STEPS,
  ...MONEY_BACK_STEPS,
  ...DEVICE_STEPS,
  ...WAIT_STEPS,
  check: checkStep,
};

export interface ScenarioRunOptions {
  /** `qa run --seed`: replaces the scenario's own seed. */
  seedOverride?: number;
  /** Aborted on SIGINT/SIGTERM: the running step stops, the rest are skipped, clean-up runs. */
  signal: AbortSignal;
  host: QaHost;
  registry: ProcessRegistry;
  keepDir?: boolean;
  startStack(opts: StackOptions): Promise<QaStack>;
  deps: EngineDeps;
  /** Progress: a step is about to run / has ended. */
  onStepStart?(path: string, title: string): void;
  onStepEnd?(step: StepRecord, title: string): void;
}

/** The steps a seed makes of a scenario: repeat unrolled, oneOf chosen, random amounts drawn. */
export function resolveSteps(scenario: Scenario, seed: number): ResolvedStep[] {
  return expandSteps(scenario.steps, new Prng(deriveSeed(seed, 'steps')));
}

/** The seed the stack gets (card ids, line and bank fault draws): its own stream of the scenario seed. */
export const stackSeed = (seed: number): number => deriveSeed(seed, 'stack');

function errorOf(e: unknown): { code: string; message: string; hint: string } {
  if (e instanceof CardpostError) return { code: e.code, message: e.message, hint: e.hint };
  return {
    code: 'QA_RUNNER_FAILED',
    message: e instanceof Error ? e.message : String(e),
    hint: 'report it with the JSON report of this run',
  };
}

export async function runScenario(loaded: LoadedScenario, o: ScenarioRunOptions): Promise<ScenarioResult> {
  const { scenario } = loaded;
  const seed = o.seedOverride ?? scenario.seed;
  const started = Date.now();
  const result: ScenarioResult = {
    file: loaded.file,
    name: scenario.name,
    seed,
    status: 'passed',
    steps: [],
    timeline: [],
    screenshots: [],
    startedAt: new Date(started).toISOString(),
    durationMs: 0,
  };
  const planned = resolveSteps(scenario, seed);
  const skipAll = (from: number): void => {
    const at = Date.now() - started;
    const rest = planned
      .slice(from)
      .map((s) => ({ rec: skipped(s.path, s.kind, s.params, at), title: describeStep(s.kind, s.params) }));
    if (scenario.expect) rest.push({ rec: skipped('expect', 'expect', scenario.expect, at), title: 'expect' });
    for (const { rec, title } of rest) {
      result.steps.push(rec);
      o.onStepEnd?.(rec, title);
    }
  };

  let stack: QaStack;
  try {
    stack = await o.startStack({
      devices: scenario.devices,
      seed: stackSeed(seed),
      host: o.host,
      registry: o.registry,
      ...(o.keepDir !== undefined ? { keepDir: o.keepDir } : {}),
    });
  } catch (e) {
    result.status = 'error';
    result.error = errorOf(e);
    skipAll(0);
    result.durationMs = Date.now() - started;
    return result;
  }

  const ctx: StepContext = {
    stack,
    signal: o.signal,
    seed,
    deps: o.deps,
    sales: new Map(),
    followers: new Set(),
    screenshots: result.screenshots,
    runnerEvents: [],
    startedAt: started,
    path: '',
  };
  const note = (text: string): void => {
    ctx.runnerEvents.push({ t: Date.now() - started, source: 'runner', text });
  };

  try {
    let i = 0;
    for (; i < planned.length; i++) {
      const s = planned[i]!;
      const title = describeStep(s.kind, s.params);
      const executor = EXECUTORS[s.kind];
      ctx.path = s.path;
      o.onStepStart?.(s.path, title);
      note(`step ${s.path}: ${title}`);
      const record = await runOne(s.path, s.kind, title, s.params, started, () => {
        // A stopped run starts no further step: steps that never pause (insert, kill9, …) act at once.
        throwIfStopped(o.signal);
        if (!executor) throw new Error(`no executor for step kind ${s.kind}`);
        return executor(ctx, s.params);
      });
      result.steps.push(record);
      note(`step ${s.path}: ${record.status}`);
      o.onStepEnd?.(record, title);
      if (record.status !== 'passed') break;
    }
    if (i < planned.length) skipAll(i + 1);
    else if (scenario.expect) {
      const expect = scenario.expect;
      o.onStepStart?.('expect', 'expect');
      ctx.path = 'expect';
      const record = await runOne('expect', 'expect', 'expect', expect, started, async () => {
        const { differences, actual } = await evaluate(ctx, expect, 'expect.');
        return { result: actual, differences, expected: expect, actual };
      });
      result.steps.push(record);
      o.onStepEnd?.(record, 'expect');
    }
  } finally {
    // The clean-up always runs: live sales are cancelled (a followed sale must not charge a card later), then the stack goes.
    await Promise.all([...ctx.followers].map((f) => f.stop()));
    try {
      await stack.close();
    } catch (e) {
      result.error ??= errorOf(e);
    }
    result.timeline = [...stack.timeline, ...ctx.runnerEvents].sort((a, b) => a.t - b.t);
  }
  if (o.signal.aborted) result.error ??= errorOf(interrupted(String(o.signal.reason)));
  const statuses = result.steps.map((s) => s.status);
  result.status =
    result.error || statuses.includes('error') ? 'error' : statuses.includes('failed') ? 'failed' : 'passed';
  result.durationMs = Date.now() - started;
  return result;
}

function skipped(path: string, kind: string, params: unknown, at: number): StepRecord {
  return { path, kind, params, status: 'skipped', startedMs: at, durationMs: 0 };
}

async function runOne(
  path: string,
  kind: string,
  title: string,
  params: unknown,
  scenarioStart: number,
  run: () => Promise<StepOutcome>,
): Promise<StepRecord> {
  const t0 = Date.now();
  const record: StepRecord = { path, kind, params, status: 'passed', startedMs: t0 - scenarioStart, durationMs: 0 };
  const where = path === 'expect' ? '' : `step ${path} (${title}): `;
  try {
    const out = await run();
    if (out.result !== undefined) record.result = out.result;
    if (out.differences?.length) {
      record.status = 'failed';
      record.failure = { message: `${where}${out.differences.join('; ')}` };
      if (out.expected !== undefined) record.failure.expected = out.expected;
      if (out.actual !== undefined) record.failure.actual = out.actual;
    }
  } catch (e) {
    const err = errorOf(e);
    record.status = 'error';
    record.failure = { message: `${where || 'expect: '}${err.code}: ${err.message}` };
  }
  record.durationMs = Date.now() - t0;
  return record;
}
