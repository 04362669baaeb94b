import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stepLogWithoutTimings } from '../../device-sim/qa/report/index.js';
import { CliProcess, runCardpost } from '../support/cli.js';
import { socatPath } from '../support/pty-pair.js';
import { requireSystem } from '../support/system.js';
import { docsExample } from './docs-example.js';

/**
 * `cardpost qa run` as a process on the real stack, with a serial terminal (socat pty) and a HID key
 * only (no pcscd: one test suite at a time may hold vpcd's ports). Exit 0/1/2, the three reports,
 * the failing step named, and the same step log from two runs with one seed.
 */

const dir = mkdtempSync(join(tmpdir(), 'cardpost-qa-run-'));
const SCHEMA_LINE = '# yaml-language-server: $schema=./scenario.schema.json\n';
const DEVICES = `
devices:
  cards:
    - { id: alice, balance: "500.00", pin: "2468" }
    - { id: bob, balance: "300.00" }
  readers:
    - { id: pos, medium: serial, card: alice }
    - { id: key, medium: hid, card: bob }
`;
const GOOD = `${SCHEMA_LINE}name: serial and HID sales
seed: 5
${DEVICES}
steps:
  - sale: { reader: key, amount: { random: ["1.00", "20.00"] }, expect: { outcome: paid } }
  - repeat:
      times: 2
      steps:
        - sale: { reader: pos, amount: { random: ["1.00", "9.99"] }, expect: { outcome: paid } }
  - sale: { reader: pos, amount: "150.00", pins: ["2468"], expect: { outcome: paid } }
  - settle: {}
expect:
  queue: { pending: 0, settled: 4 }
  events: { seen: ["sale:done", "batch"] }
  nothingLostOrDoubled: true
`;

function write(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('cardpost qa run (a process, serial terminal and HID key on the real stack)', function () {
  this.timeout(180_000);

  before(function () {
    requireSystem(this, socatPath() ? [] : ['socat'], 'apt-get install socat');
  });

  it('a passing scenario: exit 0, the progress lines and the three reports', async () => {
    const out = join(dir, 'out-ok');
    const r = await runCardpost(['qa', 'run', write('ok.yaml', GOOD), '--out', out]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /✔ 3 sale pos 150\.00/);
    assert.match(r.stdout, /✔ serial and HID sales: passed/);
    for (const f of ['junit.xml', 'steps.json', 'report.html']) assert.ok(existsSync(join(out, f)), f);
    assert.match(readFileSync(join(out, 'junit.xml'), 'utf8'), /<testsuite/);
  });

  it('the worked example of docs/qa.md passes (serial terminal with a wrong PIN, HID key, bank down, printer)', async () => {
    const r = await runCardpost([
      'qa',
      'run',
      write('docs-example.yaml', docsExample()),
      '--out',
      join(dir, 'out-docs'),
    ]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });

  it('a wrong expectation: exit 1, and the message names the step and the difference', async () => {
    const bad = GOOD.replace(
      '  - sale: { reader: pos, amount: "150.00", pins: ["2468"], expect: { outcome: paid } }',
      '  - sale: { reader: pos, amount: "150.00", pins: ["2468"], expect: { outcome: paid, balanceAfter: "1.00" } }',
    );
    const r = await runCardpost(['qa', 'run', write('bad.yaml', bad), '--out', join(dir, 'out-bad')]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /step 3 \(sale pos 150\.00\): balanceAfter: expected 1\.00, got \d+\.\d\d/);
    assert.match(r.stdout, /- 4 settle \(skipped\)/, 'the steps after it are skipped');
  });

  it('an invalid scenario file: exit 2 naming file:line:col and the field, nothing run', async () => {
    const path = write('invalid.yaml', GOOD.replace('medium: serial', 'medium: rs232'));
    const out = join(dir, 'out-invalid');
    const r = await runCardpost(['qa', 'run', path, '--out', out]);
    assert.equal(r.code, 2);
    assert.ok(r.stderr.includes(`${path}:10:26: devices.readers[0].medium:`), r.stderr);
    assert.match(r.stderr, /QA_SCENARIO_INVALID/);
    assert.ok(!existsSync(out), 'nothing ran, no report');
  });

  it('two runs with the same seed give the same step log once timings are removed; another seed another', async () => {
    const path = write('replay.yaml', GOOD);
    const logs: unknown[] = [];
    for (const [i, seed] of ['11', '11', '12'].entries()) {
      const out = join(dir, `out-replay-${i}`);
      const r = await runCardpost(['qa', 'run', path, '--seed', seed, '--out', out]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      logs.push(stepLogWithoutTimings(readFileSync(join(out, 'steps.json'), 'utf8')));
    }
    assert.deepEqual(logs[0], logs[1]);
    assert.notDeepEqual(logs[0], logs[2]);
  });

  it('SIGINT: the running step stops, the stack closes, the reports of what ran are written, exit 2', async () => {
    const path = write(
      'long.yaml',
      `${SCHEMA_LINE}name: long\n${DEVICES}\nsteps:\n  - sale: { reader: key, amount: "1.00" }\n  - wait: { ms: 600000 }\n  - wait: { ms: 1 }\n`,
    );
    const out = join(dir, 'out-int');
    const p = new CliProcess(['qa', 'run', path, '--out', out]);
    await p.waitFor(/✔ 1 sale key 1\.00/, 60_000);
    const run = runFileOf(p.child.pid!);
    assert.ok(run.processes.length >= 2 && run.paths.length >= 1, `the run file lists the daemon, socat and the ptys`);
    const code = new Promise<number | null>((resolve) => p.child.once('exit', resolve));
    p.child.kill('SIGINT');
    assert.equal(await code, 2, p.lines.join('\n'));
    await leftNothing(run, 5_000);
    const log = stepLogWithoutTimings(readFileSync(join(out, 'steps.json'), 'utf8'));
    const steps = log.scenarios[0]!.steps;
    assert.deepEqual(
      steps.map((s) => s.status),
      ['passed', 'error', 'skipped'],
    );
    assert.match(JSON.stringify(steps[1]), /QA_INTERRUPTED/);
  });

  it('SIGKILL of the cardpost qa run process: its reaper kills the daemon and socat and removes the ptys and the stack directory', async () => {
    const path = write(
      'killed.yaml',
      `${SCHEMA_LINE}name: killed\n${DEVICES}\nsteps:\n  - sale: { reader: pos, amount: "1.00" }\n  - wait: { ms: 600000 }\n`,
    );
    const p = new CliProcess(['qa', 'run', path, '--out', join(dir, 'out-kill')]);
    await p.waitFor(/✔ 1 sale pos 1\.00/, 60_000);
    const run = runFileOf(p.child.pid!);
    const code = new Promise<number | null>((resolve) => p.child.once('exit', resolve));
    p.child.kill('SIGKILL'); // no handler of the runner runs
    await code;
    await leftNothing(run, 10_000);
  });
});

interface RunFileView {
  processes: { pid: number; what: string }[];
  paths: string[];
}

/** The runner's run file (device-sim/qa/registry.ts): what it started and made. */
function runFileOf(pid: number): RunFileView {
  const file = join(tmpdir(), 'cardpost-qa', 'runs', `${pid}.json`);
  return JSON.parse(readFileSync(file, 'utf8')) as RunFileView;
}

const alive = (pid: number): boolean => {
  try {
    // A zombie still answers kill(0): read its state.
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

/** Within `ms`: none of the run's processes alive, none of its paths left. */
async function leftNothing(run: RunFileView, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  const left = () => [
    ...run.processes.filter((x) => alive(x.pid)).map((x) => `${x.what} (pid ${x.pid})`),
    ...run.paths.filter((x) => existsSync(x)),
  ];
  while (left().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(left(), [], 'nothing of the run is left');
}
