import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { CardpostError } from '../../protocol/errors.js';
import type { QaReader } from '../../device-sim/qa/qa-types.js';
import { qaScript, RunRegistry } from '../../device-sim/qa/registry.js';
import { devicesSchema } from '../../device-sim/qa/scenario-schema.js';
import { CHROMIUM } from '../../device-sim/qa/stack/display.js';
import { missingPcscParts, seededCardId, startStack, type Stack } from '../../device-sim/qa/stack/index.js';
import { qaHost } from '../../host/cli/qa-host.js';
import { FINAL_STATES, type SaleSnapshot } from '../../host/sale/sale-types.js';
import { socatPath } from '../support/pty-pair.js';
import { requireSystem } from '../support/system.js';

/**
 * The QA stack on the real parts: pcscd with vpcd, a simulated serial terminal on a socat pty, a HID key
 * through the simulated-key endpoint, a receipt printer on a pty, and the daemon as a child process.
 */
const alive = (pid: number) => {
  try {
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
};

const HAS_CHROMIUM = existsSync(CHROMIUM);

describe('QA stack: pcscd, a serial terminal, a HID key and a printer under one daemon', function () {
  this.timeout(60_000);
  let runsDir: string;
  let registry: RunRegistry | undefined;
  let stack: Stack | undefined;

  before(async function () {
    requireSystem(
      this,
      [...missingPcscParts(), ...(socatPath() ? [] : ['socat'])],
      'apt-get install pcscd vsmartcard-vpcd libpcsclite-dev socat',
    );
    runsDir = mkdtempSync(join(tmpdir(), 'cardpost-qa-test-runs-'));
    registry = await RunRegistry.open({ dir: runsDir, reaper: false });
    stack = await startStack({
      devices: devicesSchema.parse({
        cards: [
          { id: 'alice', balance: '500.00' },
          { id: 'bob', balance: '300.00', pin: '4321' },
          { id: 'carol', balance: '80.00', t0: true },
        ],
        readers: [
          { id: 'counter', medium: 'pcsc', card: 'alice' },
          { id: 'pos', medium: 'serial', card: 'bob' },
          { id: 'key', medium: 'hid', card: 'carol' },
        ],
        printer: true,
        display: HAS_CHROMIUM,
      }),
      seed: 7,
      host: qaHost(),
      registry,
    });
  });

  after(async () => {
    await stack?.close();
    await registry?.close();
    if (runsDir) rmSync(runsDir, { recursive: true, force: true });
  });

  async function sale(reader: string, amount: number, pin?: string): Promise<SaleSnapshot> {
    const d = stack!.daemon;
    const r = stack!.readers.get(reader)!;
    const started = await d.api<SaleSnapshot>('POST', '/api/v1/sales', { amount, reader: r.daemonName });
    assert.equal(started.status, 201, JSON.stringify(started.body));
    const deadline = Date.now() + 20_000;
    let pinSent = false;
    for (;;) {
      const s = (await d.api<SaleSnapshot>('GET', `/api/v1/sales/${started.body.saleId}`)).body;
      if (FINAL_STATES.has(s.state)) return s;
      if (s.state === 'pin' && !pinSent && !s.pinOnDevice) {
        assert.ok(pin, `sale on ${reader} asks for a PIN`);
        const p = await d.api('POST', `/api/v1/sales/${s.saleId}/pin`, { pin });
        assert.equal(p.status, 202, JSON.stringify(p.body));
        pinSent = true;
      }
      assert.ok(Date.now() < deadline, `sale on ${reader} still ${s.state} after 20 s`);
      await new Promise((res) => setTimeout(res, 50));
    }
  }

  it("the daemon lists the three readers, each with its card; the cards are the seed's", async () => {
    const { body } = await stack!.daemon.api<{ readers: { name: string; kind: string; cardPresent: boolean }[] }>(
      'GET',
      '/api/v1/readers',
    );
    for (const [id, kind] of [
      ['counter', 'pcsc'],
      ['pos', 'serial-terminal'],
      ['key', 'hid-key'],
    ] as const) {
      const name = stack!.readers.get(id)!.daemonName;
      const listed = body.readers.find((r) => r.name === name);
      assert.ok(listed, `${id} is listed as "${name}": ${JSON.stringify(body.readers)}`);
      assert.equal(listed.kind, kind);
      assert.equal(listed.cardPresent, true, `${id} has its card`);
    }
    assert.equal(stack!.cards.get('alice')!.cardId, Buffer.from(seededCardId(7, 'alice')).toString('hex'));
    assert.equal(stack!.cards.get('alice')!.state().cardId, stack!.cards.get('alice')!.cardId);
    assert.equal(stack!.cards.get('carol')!.state().balance, 8000);
    assert.ok(stack!.timeline.some((e) => e.source === 'daemon' && e.text.startsWith('started')));
  });

  it('a sale is paid on each reader: PIN at the counter (pcsc), on the terminal pad (serial), none (hid, T=0 card)', async () => {
    const a = await sale('counter', 15_000, '1234');
    assert.equal(a.state, 'done', JSON.stringify(a.error));
    (stack!.readers.get('pos') as QaReader).queuePins!(['4321']);
    const b = await sale('pos', 12_000);
    assert.equal(b.state, 'done', JSON.stringify(b.error));
    const c = await sale('key', 800);
    assert.equal(c.state, 'done', JSON.stringify(c.error));
    assert.equal(stack!.cards.get('alice')!.state().balance, 50_000 - 15_000);
    assert.equal(stack!.cards.get('bob')!.state().balance, 30_000 - 12_000);
    assert.equal(stack!.cards.get('carol')!.state().counter, 1);
    // The counter's printer prints the counter's sales; a terminal's sale ends on the terminal (host/printer).
    const deadline = Date.now() + 5000;
    while (stack!.receipts().length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const printed = stack!.receipts().map((r) => r.lines.join('\n'));
    assert.equal(printed.length, 2);
    assert.ok(printed[0]!.includes(a.saleId) && printed[1]!.includes(c.saleId), printed.join('\n---\n'));
    assert.ok(
      stack!.timeline.some((e) => e.source === 'terminal:pos' && e.text.includes('Paid')),
      'the terminal showed it',
    );
    assert.ok(
      stack!.daemon.events.some((e) => e.event === 'sale'),
      'the event stream delivered the sales',
    );
  });

  it('a card pulled during SIGN_TXN: the card signed, the reader is empty, and back in the reader the sale is paid once', async () => {
    const reader = stack!.readers.get('counter')!;
    const alice = stack!.cards.get('alice')!;
    const before = alice.state();
    reader.pullDuring('SIGN_TXN');
    const d = stack!.daemon;
    const started = await d.api<SaleSnapshot>('POST', '/api/v1/sales', { amount: 500, reader: reader.daemonName });
    const deadline = Date.now() + 10_000;
    while (reader.cardIn !== undefined) {
      assert.ok(Date.now() < deadline, 'the card was pulled');
      await d.api('GET', `/api/v1/sales/${started.body.saleId}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(alice.state().counter, before.counter + 1, 'the card signed before it was pulled');
    assert.ok(stack!.timeline.some((e) => e.source === 'reader:counter' && e.text.includes('pulled during SIGN_TXN')));
    await reader.insert(alice);
    let s: SaleSnapshot;
    for (;;) {
      s = (await d.api<SaleSnapshot>('GET', `/api/v1/sales/${started.body.saleId}`)).body;
      if (FINAL_STATES.has(s.state)) break;
      assert.ok(Date.now() < deadline + 10_000, `sale still ${s.state}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(s.state, 'done', JSON.stringify(s.error));
    assert.equal(alice.state().counter, before.counter + 1, 'signed once');
    assert.equal(alice.state().balance, before.balance - 500);
  });

  it('the customer display is paired and screenshot() gives a PNG of it', async function () {
    if (!HAS_CHROMIUM) {
      requireSystem(this, ['chromium'], 'apt-get install chromium');
      return;
    }
    const png = await stack!.screenshot();
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    assert.ok(png.length > 2000, 'not an empty image');
  });

  it('kill -9 and start: the queue still holds the four records; the event stream reconnects', async () => {
    const before = stack!.daemon.events.length;
    await stack!.daemon.kill9();
    assert.equal(stack!.daemon.running, false);
    await stack!.daemon.start();
    const q = await stack!.daemon.api<{ records: { cardId: string }[] }>('GET', '/api/v1/queue');
    assert.equal(q.body.records.length, 4);
    const deadline = Date.now() + 5000;
    while (!stack!.daemon.events.slice(before).some((e) => e.event === 'status') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    assert.ok(
      stack!.daemon.events.slice(before).some((e) => e.event === 'status'),
      'a new status event after the restart',
    );
  });

  it("jumpClock moves the running daemon's clock: an hour ahead shows as a clock problem, back again clears it", async () => {
    type Status = { clock: { fault: string; message: string } | null };
    const clockNow = async () => (await stack!.daemon.api<Status>('GET', '/api/v1/status')).body.clock;
    const waitFor = async (pred: (c: Status['clock']) => boolean) => {
      const deadline = Date.now() + 8000;
      for (;;) {
        const c = await clockNow();
        if (pred(c)) return c;
        assert.ok(Date.now() < deadline, `status.clock stayed ${JSON.stringify(c)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    await waitFor((c) => c === null);
    stack!.daemon.jumpClock(3_600_000);
    const off = await waitFor((c) => c !== null);
    assert.equal(off!.fault, 'off-bank');
    assert.match(off!.message, /60 minutes fast/);
    stack!.daemon.jumpClock(-3_600_000);
    await waitFor((c) => c === null);
  });

  it('close() leaves no process, no pty link and no directory', async () => {
    const pids = registry!.snapshot().processes.map((p) => p.pid);
    assert.ok(pids.length >= 3, `socat ×2 and the daemon at least: ${JSON.stringify(registry!.snapshot())}`);
    const links = ['tty-pos-host', 'tty-pos-terminal', 'tty-printer-host', 'tty-printer'].map((n) =>
      join(stack!.dir, n),
    );
    for (const l of links) assert.ok(lstatSync(l, { throwIfNoEntry: false }), `${l} exists while the stack runs`);
    await stack!.close();
    await stack!.close(); // idempotent
    for (const pid of pids) assert.equal(alive(pid), false, `process ${pid} is gone`);
    for (const l of links) assert.equal(lstatSync(l, { throwIfNoEntry: false }), undefined, `${l} is gone`);
    assert.equal(existsSync(stack!.dir), false);
    assert.deepEqual(registry!.snapshot().processes, []);
    assert.deepEqual(registry!.snapshot().paths, []);
  });
});

describe('QA stack: refusals before anything starts, and the clock preload', function () {
  this.timeout(20_000);

  it('three PC/SC readers are refused QA_DEVICES_INVALID (vpcd has two slots), and nothing is left', async () => {
    const runsDir = mkdtempSync(join(tmpdir(), 'cardpost-qa-test-runs-'));
    const registry = await RunRegistry.open({ dir: runsDir, reaper: false });
    try {
      await assert.rejects(
        startStack({
          devices: devicesSchema.parse({
            cards: [{ id: 'a' }],
            readers: [
              { id: 'r1', medium: 'pcsc' },
              { id: 'r2', medium: 'pcsc' },
              { id: 'r3', medium: 'pcsc' },
            ],
          }),
          seed: 1,
          host: qaHost(),
          registry,
        }),
        (e: CardpostError) => e.code === 'QA_DEVICES_INVALID' && /at most 2/.test(e.hint),
      );
      assert.deepEqual(registry.snapshot().paths, []);
      assert.deepEqual(registry.snapshot().processes, []);
    } finally {
      await registry.close();
      rmSync(runsDir, { recursive: true, force: true });
    }
  });

  it('a HID reader without its card, or one card in two readers, is refused QA_DEVICES_INVALID before anything starts', async () => {
    const runsDir = mkdtempSync(join(tmpdir(), 'cardpost-qa-test-runs-'));
    const registry = await RunRegistry.open({ dir: runsDir, reaper: false });
    const dirsBefore = new Set(readdirSync(tmpdir()).filter((n) => n.startsWith('cardpost-qa-')));
    try {
      await assert.rejects(
        startStack({
          devices: devicesSchema.parse({ cards: [{ id: 'a' }], readers: [{ id: 'k', medium: 'hid' }] }),
          seed: 1,
          host: qaHost(),
          registry,
        }),
        (e: CardpostError) => e.code === 'QA_DEVICES_INVALID' && /a HID key is its card/.test(e.message),
      );
      await assert.rejects(
        startStack({
          devices: devicesSchema.parse({
            cards: [{ id: 'a' }],
            readers: [
              { id: 's1', medium: 'serial', card: 'a' },
              { id: 's2', medium: 'serial', card: 'a' },
            ],
          }),
          seed: 1,
          host: qaHost(),
          registry,
        }),
        (e: CardpostError) => e.code === 'QA_DEVICES_INVALID' && /two readers/.test(e.message),
      );
      const left = readdirSync(tmpdir()).filter((n) => n.startsWith('cardpost-qa-') && !dirsBefore.has(n));
      assert.deepEqual(
        left.filter((n) => !n.startsWith('cardpost-qa-test-runs-')),
        [],
      );
      assert.deepEqual(registry.snapshot().paths, []);
    } finally {
      await registry.close();
      rmSync(runsDir, { recursive: true, force: true });
    }
  });

  it('the clock preload follows its offset file live and ignores a file that holds no number', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cardpost-qa-clock-'));
    try {
      const file = join(dir, 'offset');
      writeFileSync(file, '0');
      // The child prints its clock's offset from the real one, changes the file, and prints again.
      const script = `
        const fs = require('node:fs');
        const off = () => Date.now() - performance.timeOrigin - performance.now();
        const a = off();
        fs.writeFileSync(process.argv[1], '7200000');
        const t = performance.now(); while (performance.now() - t < 150) {}
        const b = off();
        fs.writeFileSync(process.argv[1], 'not a number');
        const t2 = performance.now(); while (performance.now() - t2 < 150) {}
        const c = off();
        const d = new Date().getTime() - performance.timeOrigin - performance.now();
        console.log(JSON.stringify([a, b, c, d]));`;
      const out = spawnSync(
        process.execPath,
        ['--import', pathToFileURL(qaScript('clock-preload.mjs')).href, '-e', script, file],
        { encoding: 'utf8', env: { ...process.env, CARDPOST_QA_CLOCK_FILE: file } },
      );
      const [a, b, c, d] = JSON.parse(out.stdout) as number[];
      assert.ok(Math.abs(a!) < 50, `no offset at first: ${a}`);
      assert.ok(Math.abs(b! - 7_200_000) < 50, `two hours ahead once the file says so: ${b}`);
      assert.ok(Math.abs(c! - 7_200_000) < 50, `a file without a number leaves the clock where it was: ${c}`);
      assert.ok(Math.abs(d! - 7_200_000) < 50, `new Date() too: ${d}`);
      const plain = spawnSync(
        process.execPath,
        [
          '--import',
          pathToFileURL(qaScript('clock-preload.mjs')).href,
          '-e',
          'console.log(Date.now() - performance.timeOrigin - performance.now())',
        ],
        {
          encoding: 'utf8',
          env: { ...process.env, CARDPOST_QA_CLOCK_FILE: '' },
        },
      );
      assert.ok(Math.abs(Number(plain.stdout)) < 50, 'without the variable the preload does nothing');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
