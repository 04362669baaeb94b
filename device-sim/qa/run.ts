import { join } from 'node:path';
import { CardpostError } from '../../protocol/errors.js';
import type { EngineDeps } from './engine/context.js';
import { runScenario } from './engine/engine.js';
import { checkInvariants } from './invariants.js';
import { loadScenarios, type LoadedScenario } from './load.js';
import { Progress } from './progress.js';
import type { ProcessRegistry, QaHost, QaStack, RunResult, ScenarioResult, StackOptions } from './qa-types.js';
import { cleanStaleRuns, RunRegistry, type CleanedRun } from './registry.js';
import { writeReports } from './report/index.js';
import { startStack } from './stack/index.js';

/**
 * `cardpost qa run` (docs/qa.md): load every scenario first (one invalid file and nothing runs), clean
 * what killed runs left behind, then each scenario on a stack of its own — startStack, the engine,
 * close — one after the other, and the three reports of whatever ran, also when stopped by a signal.
 */

/** The exit codes of a run (the issue's 0/1/2; docs/qa.md "Exit codes"). */
export const QA_EXIT = {
  /** Every scenario passed. */
  PASSED: 0,
  /** The run went through and some scenario failed (a step or an expectation did not hold, or broke). */
  FAILED: 1,
  /** Nothing or not everything could run: a scenario file invalid, a system part missing, a stack
   *  that did not come up, the reports not writable, or the run stopped by SIGINT/SIGTERM. */
  NOT_RUN: 2,
} as const;

/** The parts a run uses, replaceable in tests. */
export interface RunParts extends EngineDeps {
  startStack(opts: StackOptions): Promise<QaStack>;
  cleanStaleRuns(): Promise<CleanedRun[]>;
  openRegistry(): Promise<ProcessRegistry & { close(): Promise<unknown> }>;
  writeReports(run: RunResult, outDir: string): { junit: string; json: string; html: string };
}

const REAL_PARTS: RunParts = {
  startStack,
  cleanStaleRuns: () => cleanStaleRuns(),
  openRegistry: () => RunRegistry.open(),
  writeReports,
  checkInvariants,
};

export interface QaRunOptions {
  /** Scenario files and directories, as given. */
  args: readonly string[];
  seed?: number;
  outDir: string;
  /** Keep each stack's temporary directory (the daemon's data, logs) for a look afterwards. */
  keep?: boolean;
  host: QaHost;
  /** One line of progress. */
  out(line: string): void;
  colour?: boolean;
  /** Aborted with the signal's name as reason: the step stops, the stack closes, the reports are written. */
  signal: AbortSignal;
}

export interface QaRunOutcome {
  exitCode: (typeof QA_EXIT)[keyof typeof QA_EXIT];
  run: RunResult;
  reports?: { junit: string; json: string; html: string };
}

/** Does the run; throws only QA_SCENARIO_INVALID (nothing ran) and errors of the runner's own set-up. */
export async function runQa(o: QaRunOptions, parts: RunParts = REAL_PARTS): Promise<QaRunOutcome> {
  const scenarios: LoadedScenario[] = loadScenarios(o.args);
  const progress = new Progress(o.out, o.colour ?? false);
  const started = Date.now();
  const run: RunResult = {
    startedAt: new Date(started).toISOString(),
    durationMs: 0,
    seedOverride: o.seed,
    scenarios: [],
  };

  for (const c of await parts.cleanStaleRuns()) progress.note(cleanedLine(c));
  const registry = await parts.openRegistry();
  let notRun = 0;
  try {
    for (const [i, loaded] of scenarios.entries()) {
      if (o.signal.aborted) {
        notRun = scenarios.length - i;
        break;
      }
      const seed = o.seed ?? loaded.scenario.seed;
      progress.scenarioStart(i + 1, scenarios.length, loaded.scenario.name, loaded.file, seed);
      const result = await runScenario(loaded, {
        ...(o.seed !== undefined ? { seedOverride: o.seed } : {}),
        signal: o.signal,
        host: o.host,
        registry,
        keepDir: o.keep ?? false,
        startStack: parts.startStack,
        deps: parts,
        onStepEnd: (step, title) => progress.stepEnd(step, title),
      });
      run.scenarios.push(result);
      progress.scenarioEnd(result);
    }
  } finally {
    const cleaned = await registry.close().catch(() => undefined);
    if (isCleaned(cleaned) && (cleaned.killed.length || cleaned.removed.length))
      progress.note(`cleaned what the stacks left: ${describeCleaned(cleaned)}`);
  }
  run.durationMs = Date.now() - started;

  let reports: QaRunOutcome['reports'];
  let reportError: CardpostError | undefined;
  try {
    reports = parts.writeReports(run, o.outDir);
  } catch (e) {
    if (!(e instanceof CardpostError)) throw e;
    reportError = e;
    progress.note(`${e.code}: ${e.message} — ${e.hint}`);
  }
  progress.summary(run.scenarios, notRun, reports ? join(o.outDir, '{junit.xml,steps.json,report.html}') : undefined);
  if (o.signal.aborted) progress.note(`stopped by ${String(o.signal.reason)}: the reports hold what ran`);
  return {
    exitCode: exitCodeOf(run.scenarios, o.signal.aborted || notRun > 0 || reportError !== undefined),
    run,
    ...(reports ? { reports } : {}),
  };
}

/** A scenario that could not run: its stack did not come up (nothing of it ran). */
const couldNotRun = (r: ScenarioResult): boolean =>
  r.error !== undefined && r.steps.every((s) => s.status === 'skipped');

export function exitCodeOf(results: readonly ScenarioResult[], incomplete: boolean): QaRunOutcome['exitCode'] {
  if (incomplete || results.some(couldNotRun)) return QA_EXIT.NOT_RUN;
  return results.every((r) => r.status === 'passed') ? QA_EXIT.PASSED : QA_EXIT.FAILED;
}

const isCleaned = (c: unknown): c is CleanedRun =>
  typeof c === 'object' && c !== null && Array.isArray((c as CleanedRun).killed);

function describeCleaned(c: CleanedRun): string {
  const killed = c.killed.map((k) => `${k.what} (pid ${k.pid})`).join(', ');
  return [killed && `stopped ${killed}`, c.removed.length ? `removed ${c.removed.length} files` : '']
    .filter(Boolean)
    .join('; ');
}

function cleanedLine(c: CleanedRun): string {
  const what = describeCleaned(c) || 'nothing left to stop';
  return `cleaned up after an earlier run that was killed${c.runnerPid ? ` (runner pid ${c.runnerPid})` : ''}: ${what}`;
}
