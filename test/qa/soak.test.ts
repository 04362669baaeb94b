import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { requireSystem, which } from '../support/system.js';
import { RunRegistry } from '../../device-sim/qa/registry.js';
import { runSoak } from '../../device-sim/qa/soak/soak-run.js';
import { checkInvariants } from '../../device-sim/qa/invariants.js';
import type { QaStack } from '../../device-sim/qa/qa-types.js';
import { percentile, type SoakSummary } from '../../device-sim/qa/soak/soak-summary.js';
import { FAULT_KINDS } from '../../device-sim/qa/soak/soak-faults.js';
import { qaHost } from '../../host/cli/qa-host.js';
import { qaSoakCommand, SOAK_EXIT } from '../../host/cli/qa-soak-command.js';

/**
 * `qa soak` for real on a serial terminal (socat ptys) and a HID key, without pcscd (another test owns
 * vpcd's ports): a short heavy run whose summary must add up — paid sales = sale records at the bank,
 * every outcome counted, every fault drawn survived, every invariant check held.
 */
describe('qa soak', function () {
  this.timeout(120_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'cardpost-soak-test-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function soakCli(args: string[]): Promise<{ code: number; lines: string[] }> {
    const lines: string[] = [];
    let code = 0;
    const io = { out: (l: string) => lines.push(l), setExitCode: (c: number) => (code = c) };
    const qa = new Command('qa').exitOverride().addCommand(qaSoakCommand(io).exitOverride());
    await qa.parseAsync(['soak', ...args], { from: 'user' });
    return { code, lines };
  }

  it('refuses options it cannot run with (exit 2, nothing started, nothing written)', async () => {
    const out = join(dir, 'refused');
    for (const bad of [
      ['--minutes', '0'],
      ['--minutes', '1', '--readers', 'serial,usb'],
      ['--minutes', '1', '--readers', 'pcsc,pcsc,pcsc'],
      ['--minutes', '1', '--cards', '1', '--readers', 'serial,hid'],
      ['--minutes', '1', '--seed', '-4'],
    ]) {
      const r = await soakCli([...bad, '--out', out]);
      assert.equal(r.code, SOAK_EXIT.COULD_NOT_RUN, bad.join(' '));
      assert.match(r.lines.join('\n'), /QA_SOAK_OPTIONS_INVALID/, bad.join(' '));
    }
    assert.throws(() => readFileSync(join(out, 'soak.json')), /ENOENT/);
  });

  it('percentiles are nearest-rank', () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.deepEqual(
      [50, 90, 99, 100].map((p) => percentile(xs, p)),
      [50, 90, 99, 100],
    );
    assert.equal(percentile([7], 99), 7);
  });

  it('a short heavy soak on serial + hid: the summary adds up and the money held', async function () {
    requireSystem(this, which('socat') ? [] : ['socat'], 'apt-get install socat');
    const registry = await RunRegistry.open({ dir: join(dir, 'runs') });
    const out = join(dir, 'run');
    let s: SoakSummary;
    const progress: string[] = [];
    let token = '';
    try {
      s = await runSoak(
        { minutes: 0.3, seed: 7, cards: 3, out, faults: 'heavy', readers: ['serial', 'hid'] },
        {
          host: qaHost(),
          registry,
          progress: (l) => progress.push(l),
          check: (stack, o) => {
            token = stack.daemon.token;
            return checkInvariants(stack, o);
          },
        },
      );
    } finally {
      await registry.close();
    }
    const detail = JSON.stringify({ ...s, progress }, null, 1);
    // No allowance: the terminal's PIN pad left BUSY by a daemon killed mid-entry (found by this soak) is
    // fixed by the HELLO session rule (protocol §13.7), so every sale outcome must be explained.
    assert.equal(s.result, 'held', detail);
    assert.deepEqual(s.findings, []);
    assert.ok(s.sales.attempted >= 5, detail); // a loaded 2-core CI machine sells fewer in 18 s
    assert.equal(
      Object.values(s.sales.byOutcome).reduce((a, n) => a + n, 0),
      s.sales.attempted,
      'every sale counted by its outcome',
    );
    assert.equal(s.sales.byOutcome['paid'] ?? 0, s.sales.paid);
    // No voids in a soak: each paid sale is one settled record, and nothing else is.
    assert.equal(s.recordsSettled, s.sales.paid, detail);
    assert.ok(s.invariantChecks.run >= 2 && s.invariantChecks.broken === 0, detail);
    const drawn = Object.entries(s.faults);
    assert.ok(drawn.length >= 2, `several fault kinds drawn: ${detail}`);
    for (const [kind, f] of drawn) {
      assert.ok((FAULT_KINDS as readonly string[]).includes(kind), kind);
      assert.ok(f.injected >= 1 && f.survived === f.injected, `${kind} survived: ${detail}`);
    }
    if (s.faults['daemon-kill']) assert.equal(s.daemonRestarts, s.faults['daemon-kill'].injected);
    const l = s.latencyMs!;
    assert.ok(l.p50 > 0 && l.p50 <= l.p90 && l.p90 <= l.p99 && l.p99 <= l.max, detail);
    assert.ok(s.throughputPerMin > 0);
    const text = readFileSync(join(out, 'soak.json'), 'utf8');
    assert.ok(token.length >= 40 && !text.includes(token), "soak.json never holds the daemon's API token");
    const written = JSON.parse(text) as SoakSummary;
    assert.deepEqual(written.sales, s.sales);
    assert.equal(written.result, s.result);
  });

  it('stops at the first broken invariant and reports it by card and counter (exit path "broken")', async function () {
    requireSystem(this, which('socat') ? [] : ['socat'], 'apt-get install socat');
    const registry = await RunRegistry.open({ dir: join(dir, 'runs') });
    const out = join(dir, 'broken');
    let checks = 0;
    let token = '';
    // From the second check on, the bank's ledger is seen with one row twice: the real checker must say so.
    const doubled = (stack: QaStack): QaStack => ({
      ...stack,
      cards: stack.cards,
      readers: stack.readers,
      daemon: stack.daemon,
      bank: {
        ...stack.bank,
        url: stack.bank.url,
        setFaults: (f) => stack.bank.setFaults(f),
        revokedCards: () => stack.bank.revokedCards(),
        settled: () => {
          const rows = stack.bank.settled();
          return rows.length ? [...rows, rows[0]!] : rows;
        },
      },
    });
    let s: SoakSummary;
    try {
      s = await runSoak(
        { minutes: 1, seed: 7, cards: 2, out, faults: 'heavy', readers: ['serial', 'hid'] },
        {
          host: qaHost(),
          registry,
          check: (stack, o) => {
            token = stack.daemon.token;
            return ++checks >= 2 ? checkInvariants(doubled(stack), o) : checkInvariants(stack, o);
          },
        },
      );
    } finally {
      await registry.close();
    }
    const detail = JSON.stringify(s, null, 1);
    assert.equal(s.result, 'broken', detail);
    assert.equal(checks, 2, 'no check after the first broken one, and no final settle check');
    assert.equal(s.invariantChecks.broken, 1);
    const f = s.findings.find((x) => x.invariant === 'settled-once');
    assert.ok(f, detail);
    assert.match(f.message, /^the bank settled record [0-9a-f]{16}:\d+ more than once$/);
    assert.ok(s.durationMs < 120_000, `stopped early: ${s.durationMs} ms`);
    const text = readFileSync(join(out, 'soak.json'), 'utf8');
    assert.ok(token.length >= 40 && !text.includes(token), "the daemon's log lines kept hold no API token");
    const written = JSON.parse(text) as SoakSummary & { daemonLog?: string[] };
    assert.equal(written.result, 'broken');
    assert.ok(Array.isArray(written.daemonLog), 'a broken run keeps the daemon log lines');
  });
});
