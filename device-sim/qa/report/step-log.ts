import { CardpostError } from '../../../protocol/errors.js';
import type { RunResult, ScenarioResult, StepStatus } from '../qa-types.js';
import { toJsonValue, type JsonValue } from './json-value.js';

/**
 * steps.json: the JSON log of a `cardpost qa run`, every step with its timings. Written with
 * 2-space indentation, keys in the order below; `params`, `result`, `expected` and `actual` are the
 * engine's values as JSON (bytes as hex, bigints as strings, NaN/Infinity as strings).
 *
 * ```jsonc
 * {
 *   "format": "cardpost-qa-steps",   // always this
 *   "version": 1,                     // raised on any incompatible change
 *   "run": {
 *     "startedAt": "2026-12-06T10:00:00.000Z",
 *     "durationMs": 5321,
 *     "seedOverride": null,           // or the `qa run --seed` value
 *     "totals": { "scenarios": 2, "passed": 1, "failed": 1, "error": 0,
 *                 "steps": 9, "stepsPassed": 7, "stepsFailed": 1, "stepsError": 0, "stepsSkipped": 1 }
 *   },
 *   "scenarios": [{
 *     "file": "scenarios/pin-blocked.yaml", "name": "PIN blocked", "seed": 1,
 *     "status": "passed" | "failed" | "error",
 *     "error": { "code": "…", "message": "…", "hint": "…" },   // only when the stack or runner broke
 *     "startedAt": "…", "durationMs": 2100,
 *     "steps": [{
 *       "path": "4.2.1", "kind": "sale", "params": { … }, "status": "passed" | "failed" | "error" | "skipped",
 *       "result": { … },                                          // only when the step gave one
 *       "failure": { "message": "…", "expected": …, "actual": … },// only for a failed/error step
 *       "startedMs": 120, "durationMs": 850                       // ms since the scenario started
 *     }],
 *     "timeline": [{ "t": 130, "source": "card:alice", "text": "SIGN_TXN" }],
 *     "screenshots": [{ "label": "PIN prompt", "stepPath": "5", "file": "screenshots/1-5-1.png" }]
 *   }]
 * }
 * ```
 * Screenshots are not inlined: `file` is relative to the report directory, where `writeReports`
 * writes the PNG (report.html carries them inline).
 */
export const STEP_LOG_FORMAT = 'cardpost-qa-steps';
export const STEP_LOG_VERSION = 1;

export interface StepLogStep {
  path: string;
  kind: string;
  params: JsonValue;
  status: StepStatus;
  result?: JsonValue;
  failure?: { message: string; expected?: JsonValue; actual?: JsonValue };
  startedMs: number;
  durationMs: number;
}

export interface StepLogScenario {
  file: string;
  name: string;
  seed: number;
  status: ScenarioResult['status'];
  error?: { code: string; message: string; hint: string };
  startedAt: string;
  durationMs: number;
  steps: StepLogStep[];
  timeline: { t: number; source: string; text: string }[];
  screenshots: { label: string; stepPath: string; file: string }[];
}

export interface StepLog {
  format: typeof STEP_LOG_FORMAT;
  version: typeof STEP_LOG_VERSION;
  run: {
    startedAt: string;
    durationMs: number;
    seedOverride: number | null;
    totals: RunTotals;
  };
  scenarios: StepLogScenario[];
}

export interface RunTotals {
  scenarios: number;
  passed: number;
  failed: number;
  error: number;
  steps: number;
  stepsPassed: number;
  stepsFailed: number;
  stepsError: number;
  stepsSkipped: number;
}

export function runTotals(run: RunResult): RunTotals {
  const steps = run.scenarios.flatMap((s) => s.steps);
  const count = <T>(xs: readonly T[], f: (x: T) => boolean): number => xs.filter(f).length;
  return {
    scenarios: run.scenarios.length,
    passed: count(run.scenarios, (s) => s.status === 'passed'),
    failed: count(run.scenarios, (s) => s.status === 'failed'),
    error: count(run.scenarios, (s) => s.status === 'error'),
    steps: steps.length,
    stepsPassed: count(steps, (s) => s.status === 'passed'),
    stepsFailed: count(steps, (s) => s.status === 'failed'),
    stepsError: count(steps, (s) => s.status === 'error'),
    stepsSkipped: count(steps, (s) => s.status === 'skipped'),
  };
}

/**
 * Where a screenshot's PNG goes, relative to the report directory: scenario number (from 1), step
 * path, and its number among that step's screenshots. Only digits, dots and dashes: no path from
 * outside ends up in a file name.
 */
export function screenshotFile(scenarioIndex: number, stepPath: string, nth: number): string {
  const step = stepPath.replace(/[^0-9.]/g, '_').slice(0, 40) || 'step';
  return `screenshots/${scenarioIndex + 1}-${step}-${nth + 1}.png`;
}

/** The screenshots of one scenario with the file each is written to. */
export function screenshotFiles(s: ScenarioResult, scenarioIndex: number): { file: string; png: Uint8Array }[] {
  const perStep = new Map<string, number>();
  return s.screenshots.map((shot) => {
    const nth = perStep.get(shot.stepPath) ?? 0;
    perStep.set(shot.stepPath, nth + 1);
    return { file: screenshotFile(scenarioIndex, shot.stepPath, nth), png: shot.png };
  });
}

/** Timings come from the clock: a negative or non-finite one is written as 0, never as null. */
const ms = (n: number): number => (Number.isFinite(n) && n > 0 ? Math.round(n) : 0);

export function stepLog(run: RunResult): StepLog {
  return {
    format: STEP_LOG_FORMAT,
    version: STEP_LOG_VERSION,
    run: {
      startedAt: run.startedAt,
      durationMs: ms(run.durationMs),
      seedOverride: run.seedOverride ?? null,
      totals: runTotals(run),
    },
    scenarios: run.scenarios.map((s, i) => {
      const files = screenshotFiles(s, i);
      return {
        file: s.file,
        name: s.name,
        seed: s.seed,
        status: s.status,
        ...(s.error ? { error: { code: s.error.code, message: s.error.message, hint: s.error.hint } } : {}),
        startedAt: s.startedAt,
        durationMs: ms(s.durationMs),
        steps: s.steps.map((st) => ({
          path: st.path,
          kind: st.kind,
          params: toJsonValue(st.params),
          status: st.status,
          ...(st.result !== undefined ? { result: toJsonValue(st.result) } : {}),
          ...(st.failure
            ? {
                failure: {
                  message: st.failure.message,
                  ...(st.failure.expected !== undefined ? { expected: toJsonValue(st.failure.expected) } : {}),
                  ...(st.failure.actual !== undefined ? { actual: toJsonValue(st.failure.actual) } : {}),
                },
              }
            : {}),
          startedMs: ms(st.startedMs),
          durationMs: ms(st.durationMs),
        })),
        timeline: s.timeline.map((e) => ({ t: ms(e.t), source: e.source, text: e.text })),
        screenshots: s.screenshots.map((shot, k) => ({
          label: shot.label,
          stepPath: shot.stepPath,
          file: files[k]!.file,
        })),
      };
    }),
  };
}

/** steps.json's text (see StepLog). */
export function stepLogJson(run: RunResult): string {
  return `${JSON.stringify(stepLog(run), null, 2)}\n`;
}

/** What two runs with one seed must agree on (see stepLogWithoutTimings). */
export interface ReplayView {
  seedOverride: number | null;
  scenarios: {
    file: string;
    name: string;
    seed: number;
    status: ScenarioResult['status'];
    error?: { code: string; message: string; hint: string };
    steps: Omit<StepLogStep, 'startedMs' | 'durationMs'>[];
    screenshots: { label: string; stepPath: string; file: string }[];
    /** Only with `{ timeline: true }`. */
    timeline?: { source: string; text: string }[];
  }[];
}

/**
 * A step log (steps.json's text, or a parsed StepLog) without its timings (startedAt, durationMs,
 * startedMs, t) for the replay check: two runs with one seed must give deepStrictEqual views. The device timeline is left out unless asked for:
 * the order in which separate processes (daemon, bank, pcscd) report is not fixed by the seed, only
 * the steps and their results are (StepRecord.result).
 * Throws QA_REPORT_FORMAT for a document that is not a step log of this version.
 */
export function stepLogWithoutTimings(log: string | StepLog, opts: { timeline?: boolean } = {}): ReplayView {
  const doc = typeof log === 'string' ? parseStepLog(log) : log;
  return {
    seedOverride: doc.run.seedOverride,
    scenarios: doc.scenarios.map((s) => ({
      file: s.file,
      name: s.name,
      seed: s.seed,
      status: s.status,
      ...(s.error ? { error: s.error } : {}),
      steps: s.steps.map(({ startedMs: _s, durationMs: _d, ...rest }) => rest),
      screenshots: s.screenshots,
      ...(opts.timeline ? { timeline: s.timeline.map(({ source, text }) => ({ source, text })) } : {}),
    })),
  };
}

/** Parses steps.json, checking that it is one (format, version, the arrays the view reads). */
export function parseStepLog(text: string): StepLog {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw formatError(`it is not JSON (${(e as Error).message})`);
  }
  const d = doc as Partial<StepLog> | null;
  if (d === null || typeof d !== 'object' || d.format !== STEP_LOG_FORMAT)
    throw formatError(`its "format" is not "${STEP_LOG_FORMAT}"`);
  if (d.version !== STEP_LOG_VERSION)
    throw formatError(`it is version ${String(d.version)}, this cardpost reads version ${STEP_LOG_VERSION}`);
  if (typeof d.run !== 'object' || d.run === null || !Array.isArray(d.scenarios))
    throw formatError('it has no "run" or no "scenarios"');
  for (const s of d.scenarios)
    if (!Array.isArray(s?.steps) || !Array.isArray(s.timeline) || !Array.isArray(s.screenshots))
      throw formatError('a scenario has no "steps", "timeline" or "screenshots" array');
  return d as StepLog;
}

function formatError(what: string): CardpostError {
  return new CardpostError(
    'QA_REPORT_FORMAT',
    `This is not a cardpost QA step log: ${what}.`,
    'give the steps.json a `cardpost qa run` wrote (same cardpost version), unedited',
  );
}
