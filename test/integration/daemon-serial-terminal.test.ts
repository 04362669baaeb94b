import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimTerminal } from '../../device-sim/terminal/index.js';
import { CardClient } from '../../protocol/commands/index.js';
import type { TerminalChannelOptions } from '../../protocol/terminal/index.js';
import { DaemonFixture, FIXTURE_PIN } from '../support/daemon-fixture.js';
import { startPtyPair, socatPath, type PtyPair } from '../support/pty-pair.js';
import { requireSystem } from '../support/system.js';

/**
 * Issue 5 through the daemon: a serial POS terminal (simulated, on the other end of a real socat pty
 * pair) keys a sale; the daemon runs it with the card in the terminal's slot and the PIN on the
 * terminal's pad, stores the record, and the terminal prints the receipt.
 */
describe('daemon with a serial POS terminal over a real pty pair', function () {
  this.timeout(60_000);
  let dir: string;
  let pty: PtyPair;
  let f: DaemonFixture;
  let sim: SimTerminal;

  before(function () {
    requireSystem(this, socatPath() ? [] : ['socat'], 'apt-get install socat');
  });
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cardpost-daemon-term-'));
    pty = await startPtyPair(join(dir, 'host'), join(dir, 'term'));
    f = await DaemonFixture.start({ insert: false, config: { readers: { pcsc: false, serial: [join(dir, 'host')] } } });
    sim = new SimTerminal({ path: join(dir, 'term'), serial: 'SIM-7', printerFile: join(dir, 'receipts.txt') }).start();
    sim.insert(f.applet);
  });
  afterEach(async () => {
    await sim?.stop();
    await f?.stop();
    await pty?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a sale keyed on the terminal, PIN on its pad, card in its slot: stored by the host, receipt printed by the terminal', async () => {
    const reader = `serial terminal ${join(dir, 'host')}`;
    for (let i = 0; !f.daemon.hub.info(reader)?.cardPresent; i++) {
      assert.ok(i < 300, "the terminal's slot appears as a reader with the card");
      await new Promise((r) => setTimeout(r, 50));
    }
    sim.pressPin('9999', FIXTURE_PIN); // one wrong try, then the right PIN, typed on the terminal
    const result = await sim.sale(15_000);
    assert.equal(result.type, 'SALE_RESULT', JSON.stringify(result));
    assert.equal((result as { outcome: string }).outcome, 'approved', JSON.stringify(result));
    const recordId = (result as { receiptId?: string }).receiptId!;
    assert.equal(recordId, `${f.cardId}:1`);
    const stored = f.daemon.store.record(recordId);
    assert.ok(stored, 'the host stored the record');
    assert.equal(stored.amount, 15_000);
    assert.equal(stored.cvm, 1, 'the card verified the PIN');
    assert.ok(existsSync(join(dir, 'receipts.txt')), 'the terminal printed');
    const printed = readFileSync(join(dir, 'receipts.txt'), 'utf8');
    assert.match(printed, new RegExp(`Record ${recordId}`));
    assert.match(printed, /PIN verified/);
    const sale = f.daemon.store.recentSales(1)[0]!;
    assert.equal(
      sale.requestKey?.startsWith('terminal:SIM-7:'),
      true,
      `the sale is keyed on the terminal's request id: ${JSON.stringify(f.daemon.store.recentSales(5))}`,
    );
  });

  it('the same request re-sent after a daemon restart is answered from the stored sale, not charged again', async () => {
    const reader = `serial terminal ${join(dir, 'host')}`;
    for (let i = 0; !f.daemon.hub.info(reader)?.cardPresent; i++) {
      assert.ok(i < 300, 'slot ready');
      await new Promise((r) => setTimeout(r, 50));
    }
    const first = await sim.sale(500);
    assert.equal((first as { outcome?: string }).outcome, 'approved');
    const key = f.daemon.store.recentSales(1)[0]!.requestKey!;
    await f.restart();
    // What the terminal would do after losing the answer: the same request id again (engine level, as the link's cache is gone).
    const again = f.daemon.engine.start({ amount: 500, currency: 156, requestKey: key });
    assert.equal(again.state, 'done');
    assert.equal(again.receipt?.recordId, `${f.cardId}:1`);
    assert.equal(
      f.daemon.store.statusCounts().pending.count +
        f.daemon.store.statusCounts().settled.count +
        f.daemon.store.statusCounts().sending.count,
      1,
      'one record only',
    );
  });

  it('the line cut right after the card signed: a clear error, reconnection, the record from the journal, one charge', async () => {
    const reader = `serial terminal ${join(dir, 'host')}`;
    for (let i = 0; !f.daemon.hub.info(reader)?.cardPresent; i++) {
      assert.ok(i < 300, 'slot ready');
      await new Promise((r) => setTimeout(r, 50));
    }
    // The card in the slot signs, and the cable is pulled before the answer can travel back.
    let cut = true;
    const applet = f.applet;
    const isSignTxn = (a: Uint8Array) => a[1] === 0x10 && a.length > 5 && (a[4] === 0 ? a[7] : a[5]) === 0x03;
    sim.remove();
    sim.insert({
      atr: () => applet.atr(),
      powerOn: () => applet.powerOn(),
      powerOff: () => applet.powerOff(),
      transmit: (a) => {
        const r = applet.transmit(a);
        if (cut && isSignTxn(a)) {
          cut = false;
          void pty.kill();
        }
        return r;
      },
    });
    const notices: string[] = [];
    f.daemon.engine.on('sale', (s) => {
      if (s.notice) notices.push(`${s.notice.code} ${s.notice.message}`);
    });
    const pending = sim.sale(800);
    for (let i = 0; cut; i++) {
      assert.ok(i < 600, 'the card signed');
      await new Promise((r) => setTimeout(r, 25));
    }
    // The card may have paid: the sale waits for it, saying why (the terminal is gone).
    for (let i = 0; !notices.some((n) => /^SALE_UNCONFIRMED .*READER_GONE/.test(n)); i++) {
      assert.ok(i < 600, `the host says the terminal is gone (${notices})`);
      await new Promise((r) => setTimeout(r, 25));
    }
    pty = await startPtyPair(join(dir, 'host'), join(dir, 'term')); // plugged back in
    const result = await pending;
    assert.equal((result as { outcome?: string }).outcome, 'approved', JSON.stringify(result));
    assert.equal((result as { receiptId?: string }).receiptId, `${f.cardId}:1`);
    const rec = f.daemon.store.record(`${f.cardId}:1`)!;
    assert.equal(rec.origin, 'recovered', "the record came back from the card's journal");
    assert.equal(f.daemon.store.records().length, 1, 'one record, one charge');
  });

  it('500 sales keyed on the terminal over a line with 1% of bytes corrupted and random drops: none lost, none charged twice', async function () {
    this.timeout(180_000);
    // A fresh rig with a noisy line: short ACK time-outs and small fragments, so 1% byte errors cost little.
    await sim.stop();
    await f.stop();
    const noisy: TerminalChannelOptions = {
      link: { ackTimeoutMs: 12, interByteTimeoutMs: 5, msPerByte: 0, maxFragment: 80, maxRetries: 20 },
      resendMs: 400,
      heartbeatMs: 1000,
      peerTimeoutMs: 5000,
      requestTimeoutMs: 20_000,
    };
    f = await DaemonFixture.start({
      insert: false,
      balance: 1_000_000,
      serialChannel: noisy,
      config: { readers: { pcsc: false, serial: [join(dir, 'host')] } },
    });
    const rates = { flip: 0.01, drop: 0.001, dup: 0.0005, garbage: 0.005, split: 0.05, merge: 0.02 };
    sim = new SimTerminal({
      path: join(dir, 'term'),
      serial: 'SIM-NOISY',
      channel: noisy,
      faults: { send: rates, receive: rates, seed: 0xc0ffee },
    }).start();
    sim.insert(f.applet);
    const before = await cardState(f);
    const t0 = Date.now();
    const results: string[] = [];
    let total = 0;
    for (let i = 0; i < 500; i++) {
      const amount = 100 + ((i * 37) % 1800); // under the no-PIN limit: the PIN path has its own test
      total += amount;
      const r = await sim.sale(amount);
      results.push(r.type === 'SALE_RESULT' ? r.outcome : `ERROR ${r.code}`);
    }
    const ms = Date.now() - t0;
    const after = await cardState(f);
    const records = f.daemon.store.records({ limit: 1000 });
    const approved = results.filter((r) => r === 'approved').length;
    const send = sim.sendFaults.stats,
      receive = sim.receiveFaults.stats;
    console.log(
      `      500 sales through the daemon in ${(ms / 1000).toFixed(1)} s; terminal: ${sim.channel.stats.duplicateRequests} repeated requests ` +
        `(${sim.channel.stats.responsesReplayed} answered from cache); faults injected: send ${JSON.stringify(send)} receive ${JSON.stringify(receive)}`,
    );
    assert.equal(approved, 500, `every sale approved: ${[...new Set(results)].join(', ')}`);
    assert.equal(records.length, 500, "one stored record per sale in the daemon's SQLite queue (zero lost)");
    assert.equal(
      after.counter - before.counter,
      500,
      'the card counter advanced exactly once per stored record (zero double charges)',
    );
    assert.equal(before.balance - after.balance, total, 'the balance fell by exactly the sales');
    assert.equal(
      records.reduce((n, r) => n + r.amount, 0),
      total,
      'the stored amounts are the sales',
    );
    assert.ok(send.flipped + receive.flipped > 1000, 'the line really was noisy');
  });
});

/** The card's counter and balance, read straight from the applet (it sits in the terminal's slot). */
async function cardState(f: DaemonFixture): Promise<{ counter: number; balance: number }> {
  const client = new CardClient({ extendedLength: true, transmit: async (a) => f.applet.transmit(a) });
  await client.select();
  const i = await client.getInfo();
  return { counter: i.counter, balance: i.balance };
}
