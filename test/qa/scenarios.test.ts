import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseStepLog } from '../../device-sim/qa/report/index.js';
import { runCardpost } from '../support/cli.js';
import { missingPcscParts } from '../support/pcscd.js';
import { socatPath } from '../support/pty-pair.js';
import { requireSystem } from '../support/system.js';
import { CHROMIUM } from '../ui/browser.js';

/**
 * Issue 17 "Done when": `cardpost qa run scenarios/` runs every shipped scenario on the real stack (pcscd
 * with vpcd, socat ptys, the HID endpoint, the daemon as a process, Chromium for the customer display)
 * and produces the three reports. Running the library here is also what keeps the scenarios working.
 */
const SCENARIOS = fileURLToPath(new URL('../../scenarios/', import.meta.url));
const shipped = readdirSync(SCENARIOS).filter((f) => /\.ya?ml$/.test(f));

describe('the scenario library (scenarios/) through `cardpost qa run`, on the real stack', function () {
  this.timeout(600_000);
  const out = mkdtempSync(join(tmpdir(), 'cardpost-qa-library-'));
  let run: { code: number | null; stdout: string; stderr: string };

  before(async function () {
    const missing = [
      ...missingPcscParts(),
      ...(socatPath() ? [] : ['socat']),
      ...(existsSync(CHROMIUM) ? [] : ['chromium']),
    ];
    requireSystem(this, missing, 'apt-get install pcscd vsmartcard-vpcd libpcsclite-dev socat chromium');
    run = await runCardpost(['qa', 'run', SCENARIOS, '--out', out]);
  });
  after(() => rmSync(out, { recursive: true, force: true }));

  it('every shipped scenario passes: exit 0, one verdict line each', () => {
    // The scenario headers, and every failing step with the lines that say why.
    const failures = run.stdout
      .split('\n')
      .filter((l, i, all) => /^\[\d+\/\d+\]|✘|^ {6}\S/.test(l) || /✘/.test(all[i - 1] ?? ''))
      .join('\n');
    assert.equal(run.code, 0, `qa run exited ${run.code}:\n${failures}\n${run.stderr.slice(-2000)}`);
    assert.ok(shipped.length >= 12, `the library has its scenarios (${shipped.length})`);
    assert.match(run.stdout, new RegExp(`${shipped.length} scenarios: ${shipped.length} passed, 0 failed`));
  });

  it('writes the three reports: JUnit XML with a testsuite per scenario, the step log, the HTML with the display screenshots', () => {
    const junit = readFileSync(join(out, 'junit.xml'), 'utf8');
    assert.equal([...junit.matchAll(/<testsuite /g)].length, shipped.length);
    assert.doesNotMatch(junit, /<failure|<error/);
    const log = parseStepLog(readFileSync(join(out, 'steps.json'), 'utf8'));
    assert.deepEqual(
      log.scenarios.map((s) => s.status),
      shipped.map(() => 'passed'),
    );
    const elderly = log.scenarios.find((s) => s.file.endsWith('elderly-customer.yaml'));
    assert.ok(elderly && elderly.screenshots.length >= 4, 'the elderly customer scenario took its screenshots');
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    assert.ok((html.match(/src="data:image\/png;base64,/g) ?? []).length >= 4, 'the screenshots are inside the page');
    const escaped = (t: string) =>
      t
        .replace(/&/g, '&amp;')
        .replace(/</g, '&lt;')
        .replace(/>/g, '&gt;')
        .replace(/"/g, '&quot;')
        .replace(/'/g, '&#39;');
    for (const s of log.scenarios) assert.ok(html.includes(escaped(s.name)), `the page names ${s.name}`);
  });
});
