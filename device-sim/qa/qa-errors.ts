import { CardpostError } from '../../protocol/errors.js';

/**
 * The QA runner's own errors (docs/qa.md "Errors"). Codes are stable; the host's error registry
 * classifies them (host/errors/codes*.ts), which gives `cardpost qa run` its exit code.
 */

/** One problem in a scenario file, where it is and what is allowed there. */
export interface ScenarioIssue {
  file: string;
  /** 1-based; 0 when the file could not be read at all. */
  line: number;
  column: number;
  /** The field, as `steps[3].sale.amount` ("" for the whole file). */
  field: string;
  message: string;
}

/** At most this many issues are listed in one error (the rest are counted). */
const ISSUES_SHOWN = 20;

export const issueLine = (i: ScenarioIssue): string =>
  `${i.file}:${i.line}:${i.column}: ${i.field ? `${i.field}: ` : ''}${i.message}`;

/** A scenario file that cannot be used: not found, too big, not YAML/JSON, or not a valid scenario. */
export class ScenarioInvalidError extends CardpostError {
  readonly issues: readonly ScenarioIssue[];
  constructor(issues: readonly ScenarioIssue[]) {
    const shown = issues.slice(0, ISSUES_SHOWN).map(issueLine);
    if (issues.length > ISSUES_SHOWN) shown.push(`… and ${issues.length - ISSUES_SHOWN} more`);
    super(
      'QA_SCENARIO_INVALID',
      shown.length === 1 ? shown[0]! : `${issues.length} problems in scenario files:\n  ${shown.join('\n  ')}`,
      'correct the scenario file at the line and field named (docs/qa.md lists every step and its fields; an editor with the YAML language server checks it as you type)',
    );
    this.issues = issues;
  }
}

/** The run was stopped (SIGINT/SIGTERM) while a step ran. */
export const interrupted = (signal: string): CardpostError =>
  new CardpostError(
    'QA_INTERRUPTED',
    `the run was stopped by ${signal}`,
    'the reports hold the scenarios and steps that ran; run again to finish',
  );

/** The daemon answered something a step cannot go on from (5xx, 401, a body that is not what host-api.md says). */
export const daemonAnswer = (what: string, status: number, code: string | undefined): CardpostError =>
  new CardpostError(
    'QA_DAEMON_ANSWER',
    `${what}: the daemon answered ${status}${code ? ` ${code}` : ''}`,
    "read the daemon's log lines in the JSON report of this scenario",
  );
