import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadScenarioFile } from '../../device-sim/qa/load.js';
import { ScenarioInvalidError } from '../../device-sim/qa/qa-errors.js';
import type { ScenarioResult } from '../../device-sim/qa/qa-types.js';
import { QA_EXIT, runQa } from '../../device-sim/qa/run.js';
import { control, parseReader, QaSlot } from '../../host/cli/qa-daemon-command.js';
import { qaHost } from '../../host/cli/qa-host.js';

/**
 * medium: in-process: the reader and its card inside the daemon's own process (`cardpost qa daemon`), so
 * these scenarios run on the real daemon without pcscd (none is started here). The card is personalised by
 * the runner, then lives in the daemon; a kill -9 is a power cut for it.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'cardpost-qa-inprocess-'));
let n = 0;
function file(text: string): string {
  const path = join(dir, `s${++n}.yaml`);
  writeFileSync(path, text);
  return path;
}

async function run(path: string): Promise<{ exitCode: number; result: ScenarioResult; lines: string[] }> {
  const lines: string[] = [];
  const outcome = await runQa({
    args: [path],
    outDir: join(dir, `out-${++n}`),
    host: qaHost(),
    out: (l) => lines.push(l),
    signal: new AbortController().signal,
  });
  return { exitCode: outcome.exitCode, result: outcome.run.scenarios[0]!, lines };
}

const STALL = `name: a card that hangs mid-sign in an in-process reader
seed: 3
devices:
  cards:
    - { id: alice, balance: "100.00" }
  readers:
    - { id: r1, medium: in-process, card: alice }
steps:
  - stallDuring: { reader: r1, command: SIGN_TXN }
  - sale: { reader: r1, amount: "5.00", as: s1, wait: false }
  - wait: { ms: 1000 }
  - check: { cards: { alice: { counter: 1, balance: "95.00" } }, events: { notSeen: ["sale:done"] } }
  - remove: { reader: r1 }
  - insert: { reader: r1, card: alice }
  - finish: { sale: s1, expect: { outcome: paid, balanceAfter: "95.00" } }
  - settle: {}
expect:
  queue: { pending: 0, settled: 1, total: 1 }
  cards: { alice: { counter: 1 } }
  nothingLostOrDoubled: true
`;

describe('QA: in-process readers (no pcscd)', function () {
  this.timeout(120_000);

  it('scenarios/in-process-reader.yaml passes: sale, PIN sale, pull mid-sign, kill -9, settled once', async () => {
    const { exitCode, result } = await run(join(ROOT, 'scenarios/in-process-reader.yaml'));
    assert.equal(result.status, 'passed', JSON.stringify(result.steps.filter((s) => s.status !== 'passed')));
    assert.equal(exitCode, QA_EXIT.PASSED);
    const text = result.timeline.map((e) => `${e.source} ${e.text}`);
    assert.ok(!text.some((l) => l.startsWith('pcscd')), 'no pcscd was started');
    assert.ok(text.includes('reader:r1 card alice pulled mid-command'), 'the daemon reported the pull to the runner');
    assert.equal(text.filter((l) => /^daemon started/.test(l)).length, 2, 'started, then started again after kill -9');
  });

  it('a stalled card hangs the command until it is taken out; put back, the sale is paid once', async () => {
    const { result } = await run(file(STALL));
    assert.equal(result.status, 'passed', JSON.stringify(result.steps.filter((s) => s.status !== 'passed')));
  });

  it('a wrong expectation on an in-process card fails (its state is read from the daemon-owned file)', async () => {
    const { result, exitCode } = await run(
      file(STALL.replace('cards: { alice: { counter: 1 } }', 'cards: { alice: { counter: 2 } }')),
    );
    assert.equal(result.status, 'failed');
    assert.equal(exitCode, QA_EXIT.FAILED);
  });

  describe('the loader refuses what an in-process reader cannot do (QA_SCENARIO_INVALID, naming the step)', () => {
    const refused = (text: string) => {
      const path = file(text);
      try {
        loadScenarioFile(path);
      } catch (e) {
        assert.ok(e instanceof ScenarioInvalidError, String(e));
        assert.equal(e.code, 'QA_SCENARIO_INVALID');
        return e.issues;
      }
      return assert.fail('the scenario loaded');
    };
    const DEVICES = `name: moves
devices:
  cards:
    - { id: alice }
    - { id: bob }
  readers:
    - { id: r1, medium: in-process, card: alice }
    - { id: key, medium: serial, card: bob }
`;

    it('moving an in-process card to another reader', () => {
      const issues = refused(
        `${DEVICES}steps:\n  - remove: { reader: r1 }\n  - insert: { reader: key, card: alice }\n`,
      );
      assert.equal(issues.length, 1, JSON.stringify(issues));
      assert.equal(issues[0]!.field, 'steps[1].insert.reader');
      assert.match(issues[0]!.message, /card "alice" lives in the daemon with in-process reader "r1"/);
    });

    it('inserting another card into an in-process reader', () => {
      const issues = refused(`${DEVICES}steps:\n  - remove: { reader: key }\n  - insert: { reader: r1, card: bob }\n`);
      assert.equal(issues.length, 1, JSON.stringify(issues));
      assert.equal(issues[0]!.field, 'steps[1].insert.card');
      assert.match(issues[0]!.message, /in-process and carries card "alice" only/);
    });

    it('an in-process reader without its card', () => {
      const issues = refused(
        DEVICES.replace('{ id: r1, medium: in-process, card: alice }', '{ id: r1, medium: in-process }') +
          'steps:\n  - settle: {}\n',
      );
      assert.ok(
        issues.some((i) => /is in-process: its card lives in the daemon/.test(i.message)),
        JSON.stringify(issues),
      );
    });

    it('the shipped scenario loads (its card stays in its reader)', () => {
      const { scenario } = loadScenarioFile(join(ROOT, 'scenarios/in-process-reader.yaml'));
      assert.equal(scenario.devices.readers[0]!.medium, 'in-process');
      assert.ok(readFileSync(join(ROOT, 'scenarios/scenario.schema.json'), 'utf8').includes('"in-process"'));
    });
  });

  describe('cardpost qa daemon: its stdin requests and --reader (QA only, refused when malformed)', () => {
    const slots = () =>
      new Map([['r1', new QaSlot({ name: 'r1', stateFile: join(dir, 'blank-card.nvm'), t0: false }, () => undefined)]]);

    it('refuses malformed --reader arguments', () => {
      for (const bad of ['r1', '=x', 'r 1=x', 'r1=x,t1', 'r1=x,t0,t0'])
        assert.throws(() => parseReader(bad, []), /CLI_QA_READER|is not NAME=STATEFILE/, bad);
      assert.deepEqual(parseReader('r1=/tmp/c.nvm,t0', []), [{ name: 'r1', stateFile: '/tmp/c.nvm', t0: true }]);
    });

    it('refuses unknown requests, unknown readers and extra words; takes the four it knows', () => {
      const s = slots();
      for (const bad of ['eject r1', 'insert r9', 'insert r1 now', 'pull-during r1', 'remove', 'stall-during r1 A B'])
        assert.throws(() => control(s, bad), Error, bad);
      control(s, 'insert r1');
      assert.equal(s.get('r1')!.cardPresent, true);
      control(s, 'pull-during r1 SIGN_TXN');
      control(s, 'stall-during r1 VERIFY_PIN');
      control(s, 'remove r1');
      assert.equal(s.get('r1')!.cardPresent, false);
    });
  });
});
