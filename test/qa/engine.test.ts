import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveSteps, runScenario, stackSeed, type ScenarioRunOptions } from '../../device-sim/qa/engine/engine.js';
import { deriveSeed, Prng } from '../../device-sim/qa/engine/prng.js';
import { parseScenarioText, type LoadedScenario } from '../../device-sim/qa/load.js';
import { ScenarioInvalidError } from '../../device-sim/qa/qa-errors.js';
import type { ProcessRegistry, QaHost, RunResult, ScenarioResult } from '../../device-sim/qa/qa-types.js';
import { exitCodeOf, QA_EXIT, runQa, type RunParts } from '../../device-sim/qa/run.js';
import { fakeStarter } from './fake-stack.js';

/** The QA engine on a fake stack (no processes): expansion, seeds, failures that name the step, clean-up. */

function scenario(yaml: string): LoadedScenario {
  const r = parseScenarioText(yaml, 'test.yaml', 'yaml');
  if ('issues' in r) throw new Error(r.issues.map((i) => `${i.line}:${i.column} ${i.field} ${i.message}`).join('\n'));
  return r;
}

const DEVICES = `
devices:
  cards:
    - { id: alice, balance: "500.00", pin: "2468" }
  readers:
    - { id: r1, medium: pcsc, card: alice }
`;

const RANDOM = scenario(`
name: random
${DEVICES}
steps:
  - sale: { reader: r1, amount: { random: ["1.00", "9.99"] } }
  - repeat:
      times: 3
      steps:
        - sale: { reader: r1, amount: { random: ["1.00", "50.00"] } }
        - oneOf:
            - remove: { reader: r1 }
            - insert: { reader: r1, card: alice }
            - wait: { ms: 1 }
  - oneOf:
      - sale: { reader: r1, amount: "1.00" }
      - sale: { reader: r1, amount: "2.00" }
`);

const registry: ProcessRegistry = { addProcess() {}, removeProcess() {}, addPath() {}, removePath() {} };

function options(extra: Partial<ScenarioRunOptions> = {}) {
  const starter = fakeStarter();
  const opts: ScenarioRunOptions = {
    signal: new AbortController().signal,
    host: {} as QaHost,
    registry,
    startStack: starter.startStack,
    deps: { checkInvariants: async () => [] },
    ...extra,
  };
  return { starter, opts };
}

/** The step log without timings (what must be equal between two runs with one seed). */
const withoutTimings = (r: ScenarioResult) => r.steps.map(({ startedMs: _s, durationMs: _d, ...rest }) => rest);

describe('QA engine: expansion and seeds', () => {
  it('unrolls repeat and oneOf into 1-based step paths', () => {
    const paths = resolveSteps(RANDOM.scenario, 1).map((s) => s.path);
    assert.equal(paths.length, 1 + 3 * 2 + 1);
    assert.equal(paths[0], '1');
    assert.deepEqual(
      paths.slice(1, 3).map((p) => p.split('.').slice(0, 3).join('.')),
      ['2.1.1', '2.1.2'],
    );
    assert.match(paths[2]!, /^2\.1\.2\.[123]$/, 'a oneOf inside the repeat adds the option chosen');
    assert.match(paths[7]!, /^3\.[12]$/);
  });

  it('one seed gives the same resolved steps; another seed gives others', () => {
    const a = resolveSteps(RANDOM.scenario, 42);
    const b = resolveSteps(RANDOM.scenario, 42);
    assert.deepEqual(a, b);
    const amounts = (seed: number) =>
      resolveSteps(RANDOM.scenario, seed)
        .filter((s) => s.kind === 'sale')
        .map((s) => s.params.amount);
    assert.notDeepEqual(amounts(42), amounts(43));
    for (const amt of amounts(42)) assert.match(String(amt), /^\d+\.\d\d$/, 'a drawn amount is money');
  });

  it('draws amounts within their bounds, both ends reachable', () => {
    const rng = new Prng(deriveSeed(9, 'x'));
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) seen.add(rng.int(1, 4));
    assert.deepEqual([...seen].sort(), [1, 2, 3, 4]);
  });
});

describe('QA engine: running steps on a stack', () => {
  it('runs a passing scenario: sales paid, PIN typed, final expectations met, the stack closed', async () => {
    const { starter, opts } = options();
    const r = await runScenario(
      scenario(`
name: passes
${DEVICES}
steps:
  - sale: { reader: r1, amount: "12.50", expect: { outcome: paid, balanceAfter: "487.50" } }
  - sale: { reader: r1, amount: "150.00", pins: ["1111", "2468"], expect: { outcome: paid } }
  - settle: {}
  - check: { queue: { pending: 0, settled: 2 } }
expect:
  cards: { alice: { balance: "337.50", counter: 2, pinTriesLeft: 2 } }
  bank: { records: 2, amount: "162.50" }
  nothingLostOrDoubled: true
`),
      opts,
    );
    assert.equal(r.status, 'passed', JSON.stringify(r.steps.map((s) => s.failure)));
    assert.deepEqual(
      r.steps.map((s) => [s.path, s.status]),
      [
        ['1', 'passed'],
        ['2', 'passed'],
        ['3', 'passed'],
        ['4', 'passed'],
        ['expect', 'passed'],
      ],
    );
    assert.deepEqual(r.steps[0]!.result, { outcome: 'paid', online: true, balanceAfter: '487.50' });
    assert.equal(starter.stacks[0]!.closed, 1);
    assert.ok(
      r.timeline.some((e) => e.source === 'runner'),
      'the runner adds its steps to the timeline',
    );
  });

  it('a wrong sale expectation fails naming the step path and the difference; later steps are skipped; clean-up runs', async () => {
    const { starter, opts } = options();
    const r = await runScenario(
      scenario(`
name: wrong sale
${DEVICES}
steps:
  - wait: { ms: 1 }
  - repeat:
      times: 2
      steps:
        - sale: { reader: r1, amount: "12.50", expect: { outcome: paid, balanceAfter: "490.00" } }
  - remove: { reader: r1 }
expect:
  queue: { total: 1 }
`),
      opts,
    );
    assert.equal(r.status, 'failed');
    const failed = r.steps.find((s) => s.status === 'failed')!;
    assert.equal(failed.path, '2.1.1');
    assert.equal(failed.failure?.message, 'step 2.1.1 (sale r1 12.50): balanceAfter: expected 490.00, got 487.50');
    assert.deepEqual(
      r.steps.slice(2).map((s) => [s.path, s.status]),
      [
        ['2.2.1', 'skipped'],
        ['3', 'skipped'],
        ['expect', 'skipped'],
      ],
    );
    assert.equal(starter.stacks[0]!.closed, 1);
  });

  it('a wrong outcome reads "expected outcome X, got Y CODE"', async () => {
    const { opts } = options();
    const r = await runScenario(
      scenario(`
name: refused
${DEVICES}
steps:
  - sale: { reader: r1, amount: "3000.00", expect: { outcome: paid } }
`),
      opts,
    );
    assert.equal(
      r.steps[0]!.failure?.message,
      'step 1 (sale r1 3000.00): expected outcome paid, got refused OFFLINE_LIMIT_PER_SALE',
    );
  });

  it('a wrong final expectation names its field: expect.cards.alice.balance: expected …, got …', async () => {
    const { opts } = options();
    const r = await runScenario(
      scenario(`
name: wrong expect
${DEVICES}
steps:
  - sale: { reader: r1, amount: "25.00" }
expect:
  cards: { alice: { balance: "487.50" } }
  queue: { pending: 1 }
`),
      opts,
    );
    assert.equal(r.status, 'failed');
    const last = r.steps.at(-1)!;
    assert.equal(last.path, 'expect');
    assert.equal(last.failure?.message, 'expect.cards.alice.balance: expected 487.50, got 475.00');
  });

  it('invariant findings fail nothingLostOrDoubled with their names', async () => {
    const { opts } = options({
      deps: { checkInvariants: async () => [{ invariant: 'settled-once', message: 'record x:1 settled twice' }] },
    });
    const r = await runScenario(
      scenario(`
name: invariants
${DEVICES}
steps:
  - wait: { ms: 1 }
expect: { nothingLostOrDoubled: true }
`),
      opts,
    );
    assert.equal(
      r.steps.at(-1)!.failure?.message,
      'expect.nothingLostOrDoubled: settled-once: record x:1 settled twice',
    );
  });

  it('a step that breaks is an error, the rest skipped, and the stack still closed', async () => {
    const starter = fakeStarter();
    const { opts } = options({
      startStack: async (o) => {
        const s = await starter.startStack(o);
        (s.readers.get('r1') as unknown as { failInsert: boolean }).failInsert = true;
        return s;
      },
    });
    const r = await runScenario(
      scenario(`
name: breaks
${DEVICES}
steps:
  - insert: { reader: r1, card: alice }
  - wait: { ms: 1 }
`),
      opts,
    );
    assert.equal(r.status, 'error');
    assert.equal(r.steps[0]!.status, 'error');
    assert.match(r.steps[0]!.failure!.message, /^step 1 \(insert alice into r1\): .*refuses cards/);
    assert.equal(r.steps[1]!.status, 'skipped');
    assert.equal(starter.stacks[0]!.closed, 1);
  });

  it('a stack that does not come up: every step skipped, the error kept, exit code 2', async () => {
    const { opts } = options({
      startStack: async () => {
        throw Object.assign(new Error('pcscd is not installed'), { code: 'QA_SYSTEM_MISSING' });
      },
    });
    const r = await runScenario(RANDOM, opts);
    assert.equal(r.status, 'error');
    assert.match(r.error!.message, /pcscd is not installed/);
    assert.ok(r.steps.every((s) => s.status === 'skipped'));
    assert.equal(exitCodeOf([r], false), QA_EXIT.NOT_RUN);
  });

  it('stopped by a signal: the running step ends, the rest are skipped, the stack is closed', async () => {
    const stop = new AbortController();
    const { starter, opts } = options({ signal: stop.signal });
    setTimeout(() => stop.abort('SIGINT'), 50);
    const r = await runScenario(
      scenario(`
name: interrupted
${DEVICES}
steps:
  - wait: { ms: 60000 }
  - wait: { ms: 1 }
`),
      opts,
    );
    assert.equal(r.status, 'error');
    assert.match(r.steps[0]!.failure!.message, /QA_INTERRUPTED/);
    assert.equal(r.steps[1]!.status, 'skipped');
    assert.equal(starter.stacks[0]!.closed, 1);
    assert.ok(r.durationMs < 5000);
  });

  it('two runs with one seed give equal step logs once timings are removed; the stack gets a seed derived from it', async () => {
    const runs: ScenarioResult[] = [];
    const seeds: number[] = [];
    for (let i = 0; i < 2; i++) {
      const { starter, opts } = options({ seedOverride: 7 });
      runs.push(await runScenario(RANDOM, opts));
      seeds.push(starter.stacks[0]!.opts.seed);
    }
    assert.deepEqual(withoutTimings(runs[0]!), withoutTimings(runs[1]!));
    assert.equal(runs[0]!.seed, 7);
    assert.equal(seeds[0], seeds[1]);
    const { starter, opts } = options({ seedOverride: 8 });
    const other = await runScenario(RANDOM, opts);
    assert.notDeepEqual(withoutTimings(other), withoutTimings(runs[0]!));
    assert.notEqual(starter.stacks[0]!.opts.seed, seeds[0]);
  });
});

describe('qa run over several files (fake parts)', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'cardpost-qa-run-unit-'));
  const good = join(tmp, 'a-good.yaml');
  const bad = join(tmp, 'b-bad.yaml');
  writeFileSync(
    good,
    `name: good\n${DEVICES}\nsteps:\n  - sale: { reader: r1, amount: "1.00", expect: { outcome: paid } }\n`,
  );
  writeFileSync(
    bad,
    `name: bad\n${DEVICES}\nsteps:\n  - sale: { reader: r1, amount: "1.00", expect: { outcome: cancelled } }\n`,
  );

  function parts() {
    const starter = fakeStarter();
    const calls: string[] = [];
    const written: RunResult[] = [];
    const p: RunParts = {
      startStack: starter.startStack,
      checkInvariants: async () => [],
      cleanStaleRuns: async () => {
        calls.push('clean');
        return [{ file: 'x.json', runnerPid: 99, killed: [{ pid: 123, what: 'socat' }], removed: ['/tmp/x'] }];
      },
      openRegistry: async () => ({
        ...registry,
        close: async () => {
          calls.push('registry closed');
        },
      }),
      writeReports: (run) => {
        written.push(run);
        return { junit: 'j', json: 's', html: 'h' };
      },
    };
    return { p, calls, written, starter };
  }

  it('runs every file in order, prints progress, writes the reports, exit 1 when one failed', async () => {
    const { p, calls, written } = parts();
    const lines: string[] = [];
    const r = await runQa(
      { args: [tmp], outDir: tmp, host: {} as QaHost, out: (l) => lines.push(l), signal: new AbortController().signal },
      p,
    );
    assert.equal(r.exitCode, QA_EXIT.FAILED);
    assert.deepEqual(calls, ['clean', 'registry closed']);
    assert.deepEqual(
      written[0]!.scenarios.map((s) => [s.name, s.status]),
      [
        ['good', 'passed'],
        ['bad', 'failed'],
      ],
    );
    const text = lines.join('\n');
    assert.match(text, /cleaned up after an earlier run that was killed \(runner pid 99\): stopped socat \(pid 123\)/);
    assert.match(text, /\[1\/2\] good/);
    assert.match(text, /✔ good: passed/);
    assert.match(text, /✘ 1 sale r1 1\.00 .*\n.*step 1 \(sale r1 1\.00\): expected outcome cancelled, got paid/);
    assert.match(text, /2 scenarios: 1 passed, 1 failed/);
  });

  it('with --seed every scenario runs with it; all passing is exit 0', async () => {
    const { p, starter } = parts();
    const r = await runQa(
      { args: [good], seed: 77, outDir: tmp, host: {} as QaHost, out: () => {}, signal: new AbortController().signal },
      p,
    );
    assert.equal(r.exitCode, QA_EXIT.PASSED);
    assert.equal(r.run.scenarios[0]!.seed, 77);
    assert.equal(r.run.seedOverride, 77);
    assert.equal(starter.stacks[0]!.opts.seed, stackSeed(77));
  });

  it('an invalid file: QA_SCENARIO_INVALID before anything runs or is cleaned', async () => {
    const { p, calls } = parts();
    const invalid = join(mkdtempSync(join(tmpdir(), 'cardpost-qa-invalid-')), 'invalid.json');
    writeFileSync(invalid, '{"name": 1}');
    await assert.rejects(
      runQa(
        { args: [good, invalid], outDir: tmp, host: {} as QaHost, out: () => {}, signal: new AbortController().signal },
        p,
      ),
      (e: unknown) => e instanceof ScenarioInvalidError && /invalid\.json:1:10: name:/.test(e.message),
    );
    assert.deepEqual(calls, []);
  });

  it('stopped before a scenario: it is not run, the reports are still written, exit 2', async () => {
    const { p, written } = parts();
    const stop = new AbortController();
    stop.abort('SIGTERM');
    const lines: string[] = [];
    const r = await runQa(
      { args: [tmp], outDir: tmp, host: {} as QaHost, out: (l) => lines.push(l), signal: stop.signal },
      p,
    );
    assert.equal(r.exitCode, QA_EXIT.NOT_RUN);
    assert.equal(written.length, 1);
    assert.match(lines.join('\n'), /2 not run[\s\S]*stopped by SIGTERM/);
  });
});
