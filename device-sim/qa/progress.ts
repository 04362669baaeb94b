import type { ScenarioResult, StepRecord } from './qa-types.js';

/**
 * What `cardpost qa run` prints while it runs: a line per scenario started, a line per step ended
 * (✔ passed, ✘ failed or broken, with the failure's one line under it), a ✔/✘ per scenario and a
 * summary. Plain text when the output is not a terminal; colours only on a terminal (and not with NO_COLOR).
 */
/** Skipped steps listed one by one per scenario; the rest are counted in the scenario's line. */
const SKIPPED_LISTED = 20;

export class Progress {
  private skippedShown = 0;

  constructor(
    private readonly line: (text: string) => void,
    private readonly colour: boolean,
  ) {}

  private paint(code: number, text: string): string {
    return this.colour ? `\x1b[${code}m${text}\x1b[0m` : text;
  }

  note(text: string): void {
    this.line(text);
  }

  scenarioStart(index: number, total: number, name: string, file: string, seed: number): void {
    this.skippedShown = 0;
    this.line(`[${index}/${total}] ${name} (${file}, seed ${seed})`);
  }

  stepEnd(step: StepRecord, title: string): void {
    // The steps after a failure are listed, but not a long repeat's thousands of them one by one.
    if (step.status === 'skipped' && ++this.skippedShown > SKIPPED_LISTED) return;
    const mark = step.status === 'passed' ? this.paint(32, '✔') : step.status === 'skipped' ? '-' : this.paint(31, '✘');
    this.line(
      `  ${mark} ${step.path === title ? step.path : `${step.path} ${title}`} (${step.status === 'skipped' ? 'skipped' : `${step.durationMs} ms`})`,
    );
    if (step.failure) this.line(`      ${this.paint(31, step.failure.message)}`);
  }

  scenarioEnd(r: ScenarioResult): void {
    const skipped = r.steps.filter((s) => s.status === 'skipped').length;
    const ran = r.steps.length - skipped;
    const mark = r.status === 'passed' ? this.paint(32, '✔') : this.paint(31, '✘');
    const extra = skipped ? `, ${skipped} skipped` : '';
    this.line(`${mark} ${r.name}: ${r.status} (${ran} steps${extra}, ${(r.durationMs / 1000).toFixed(1)} s)`);
    if (r.error) this.line(`    ${r.error.code}: ${r.error.message} — ${r.error.hint}`);
  }

  summary(results: readonly ScenarioResult[], notRun: number, reports: string | undefined): void {
    const count = (s: ScenarioResult['status']): number => results.filter((r) => r.status === s).length;
    const parts = [`${count('passed')} passed`, `${count('failed')} failed`];
    if (count('error')) parts.push(`${count('error')} could not run to the end`);
    if (notRun) parts.push(`${notRun} not run`);
    this.line(`${results.length + notRun} scenario${results.length + notRun === 1 ? '' : 's'}: ${parts.join(', ')}`);
    if (reports) this.line(`reports: ${reports}`);
  }
}
