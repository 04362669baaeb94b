import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { CardpostError } from '../../../protocol/errors.js';
import type { RunResult } from '../qa-types.js';
import { htmlReport } from './html-report.js';
import { junitXml } from './junit.js';
import { screenshotFiles, stepLogJson } from './step-log.js';

export { htmlReport } from './html-report.js';
export { junitXml } from './junit.js';
export {
  parseStepLog,
  stepLog,
  stepLogJson,
  stepLogWithoutTimings,
  STEP_LOG_FORMAT,
  STEP_LOG_VERSION,
  type ReplayView,
  type StepLog,
} from './step-log.js';

/** The three reports of a run, by the names CI jobs and docs/qa.md refer to. */
export const REPORT_FILES = { junit: 'junit.xml', json: 'steps.json', html: 'report.html' } as const;

/**
 * Writes junit.xml, steps.json and report.html into outDir (made if missing), plus each screenshot's
 * PNG under outDir/screenshots/ (steps.json names them). Each file is written under a temporary
 * name and renamed, so a runner killed while writing never leaves a half file for CI to choke on.
 * Returns the paths written. Throws QA_REPORT_WRITE_FAILED when the directory cannot be written.
 */
export function writeReports(run: RunResult, outDir: string): { junit: string; json: string; html: string } {
  const paths = {
    junit: join(outDir, REPORT_FILES.junit),
    json: join(outDir, REPORT_FILES.json),
    html: join(outDir, REPORT_FILES.html),
  };
  const write = (path: string, data: string | Uint8Array): void => {
    try {
      mkdirSync(dirname(path), { recursive: true });
      const tmp = `${path}.${process.pid}.tmp`;
      writeFileSync(tmp, data);
      renameSync(tmp, path);
    } catch (e) {
      throw new CardpostError(
        'QA_REPORT_WRITE_FAILED',
        `The QA report ${path} could not be written: ${(e as Error).message}.`,
        'write the reports to a directory this user may write to and that has free space',
        { cause: e },
      );
    }
  };
  run.scenarios.forEach((s, i) => {
    for (const shot of screenshotFiles(s, i)) write(join(outDir, shot.file), shot.png);
  });
  write(paths.json, stepLogJson(run));
  write(paths.junit, junitXml(run, { hostname: hostname() }));
  write(paths.html, htmlReport(run));
  return paths;
}
