import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimPrinter, receiptFacts, type PrintedReceipt } from '../../device-sim/printer/index.js';
import { shopTime, type PrinterStatus } from '../../host/printer/index.js';
import type { SaleSnapshot } from '../../host/sale/sale-types.js';
import { DaemonFixture, FIXTURE_PIN } from '../support/daemon-fixture.js';
import { startPtyPair, socatPath, type PtyPair } from '../support/pty-pair.js';
import { requireSystem } from '../support/system.js';

/**
 * The receipt printer through the whole daemon: a socat pty pair, the daemon's `printer.path` on one
 * end (opened with node-serialport), the simulated ESC/POS printer on the other decoding what it gets.
 * Receipts print after the sale is stored and never hold it up; paper out, offline and a printer that
 * stops mid-receipt show in the status and leave the receipt waiting, printed later, or reported.
 */
const ZONE = 'Asia/Shanghai';

describe('receipt printer on a real pty (socat) through the daemon', function () {
  this.timeout(60_000);
  let dir: string;
  let pty: PtyPair | undefined;
  let sim: SimPrinter | undefined;
  let f: DaemonFixture | undefined;

  before(function () {
    requireSystem(this, socatPath() ? [] : ['socat'], 'apt-get install socat');
  });
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cardpost-printer-'));
    pty = await startPtyPair(join(dir, 'host'), join(dir, 'printer'));
    sim = new SimPrinter({ path: pty.b });
    await sim.start();
    f = await DaemonFixture.start({
      config: {
        shop: { timeZone: ZONE },
        printer: { path: pty.a, statusIntervalMs: 100, answerTimeoutMs: 300, header: '街角小店 Corner Shop' },
      },
    });
  });
  afterEach(async () => {
    await f?.stop();
    await sim?.stop();
    await pty?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  const printer = () => f!.daemon.printer!;
  const statusWhere = (pred: (s: PrinterStatus) => boolean, what: string, ms = 5000) =>
    new Promise<PrinterStatus>((resolve, reject) => {
      const check = (s: PrinterStatus) => {
        if (!pred(s)) return;
        clearTimeout(timer);
        printer().off('status', check);
        resolve(s);
      };
      const timer = setTimeout(() => {
        printer().off('status', check);
        reject(new Error(`printer status never ${what}: ${JSON.stringify(printer().status())}`));
      }, ms);
      printer().on('status', check);
      check(printer().status());
    });
  const nextReceipt = (ms = 5000) =>
    new Promise<PrintedReceipt>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no receipt came out of the printer')), ms);
      sim!.once('receipt', (r) => {
        clearTimeout(timer);
        resolve(r);
      });
    });
  async function sale(amount: number): Promise<SaleSnapshot> {
    const s = (await f!.api<SaleSnapshot>('POST', '/api/v1/sales', { amount })).body;
    const at = await f!.waitForSale(s.saleId, ['pin', 'done', 'failed', 'cancelled', 'timed_out', 'unconfirmed']);
    if (at.state === 'pin') await f!.api('POST', `/api/v1/sales/${s.saleId}/pin`, { pin: FIXTURE_PIN });
    const done = await f!.waitForSale(s.saleId, ['done']);
    assert.ok(done.receipt);
    return done;
  }

  it('a paid sale prints its receipt in Chinese and English: amount in double size, shop time, last 4, then a cut', async () => {
    await statusWhere((s) => s.state === 'ready', 'ready');
    const out = nextReceipt();
    const s = await sale(1234);
    const r = await out;
    const text = r.text;
    for (const want of ['街角小店 Corner Shop', '消费凭条 RECEIPT', '商户 Merchant', 'M-TEST', '已付款', '谢谢惠顾'])
      assert.ok(text.includes(want), `the receipt says ${want}:\n${text}`);
    assert.ok(text.includes(`****${f!.cardId.slice(-4)}`), 'the card is shown by its last 4 digits');
    assert.ok(!text.includes(f!.cardId), 'never the whole card id');
    assert.ok(text.includes(shopTime(s.receipt!.time, ZONE)), "the time is the shop's wall clock");
    assert.ok(text.includes(s.saleId), 'the sale id finds it again');
    const balance = `￥${Math.floor(s.receipt!.balanceAfter / 100)}.${String(s.receipt!.balanceAfter % 100).padStart(2, '0')}`;
    assert.ok(text.includes(balance), `the balance after (${balance})`);
    const amount = r.lines.flatMap((l) => l.segments).find((g) => g.text.includes('￥12.34'));
    assert.ok(amount, 'the amount is printed');
    assert.deepEqual([amount.width, amount.height], [2, 2], 'the amount is in double width and height');
    assert.deepEqual(receiptFacts(r), { saleId: s.saleId, large: ['￥12.34'], copy: false });
    const raw = sim!.received;
    assert.equal(sim!.receipts.length, 1, 'one receipt, cut');
    assert.ok(raw.includes(Buffer.from([0x1d, 0x56, 0x42])), 'the paper is cut (GS V 66)');
    assert.ok(raw.includes(Buffer.from([0x1d, 0x21, 0x11])), 'double width and height (GS ! 0x11)');
    assert.ok(raw.includes(Buffer.from([0x1c, 0x26])), 'Chinese mode (FS &) is switched on');
    assert.ok(raw.includes(Buffer.from('金额', 'latin1')) === false, 'no UTF-8 on the wire');
    assert.ok(raw.includes(Buffer.from([0xbd, 0xf0, 0xb6, 0xee])), '金额 in GB18030');
    const st = await statusWhere((x) => x.printed === 1, 'one printed');
    assert.equal(st.waiting, 0);
    assert.equal(st.state, 'ready');
    const api = await f!.api<{ printer: PrinterStatus }>('GET', '/api/v1/status');
    assert.equal(api.body.printer.state, 'ready');
    assert.equal(api.body.printer.printed, 1);
  });

  it('paper out: the sale is done at once, the status shows it, and the receipt prints once paper is in', async () => {
    sim!.setPaperOut(true);
    await statusWhere((s) => s.state === 'paper-out', 'paper-out');
    const api = await f!.api<{ printer: PrinterStatus }>('GET', '/api/v1/status');
    assert.equal(api.body.printer.state, 'paper-out');
    assert.equal(api.body.printer.problem?.code, 'PRINTER_PAPER_OUT');
    const events = await firstStatusEvent(f!);
    assert.equal(events.printer.state, 'paper-out', 'the SSE status says it too');
    const s = await sale(800);
    const waiting = await statusWhere((x) => x.waiting === 1, 'one waiting');
    assert.equal(waiting.jobs[0]!.saleId, s.saleId);
    assert.equal(waiting.jobs[0]!.state, 'queued');
    assert.equal(waiting.jobs[0]!.problem?.code, 'PRINTER_PAPER_OUT');
    assert.equal(sim!.receipts.length, 0, 'nothing was sent to a printer without paper');
    const out = nextReceipt();
    sim!.setPaperOut(false);
    const r = await out;
    assert.ok(r.text.includes('￥8.00'));
    const st = await statusWhere((x) => x.printed === 1 && x.waiting === 0, 'printed');
    assert.equal(st.state, 'ready');
    assert.equal(st.jobs.length, 0);
  });

  it('paper running out mid-receipt: the receipt is interrupted, then finished by the printer once paper is in', async () => {
    await statusWhere((s) => s.state === 'ready', 'ready');
    sim!.loadPaper(6);
    const s = await sale(900);
    const stopped = await statusWhere((x) => x.jobs[0]?.state === 'interrupted', 'interrupted');
    assert.equal(stopped.state, 'paper-out');
    assert.equal(stopped.jobs[0]!.saleId, s.saleId);
    const out = nextReceipt();
    sim!.loadPaper();
    const r = await out;
    assert.ok(r.text.includes('谢谢惠顾'), 'the rest of the receipt came out');
    await statusWhere((x) => x.printed === 1 && x.waiting === 0 && x.jobs.length === 0, 'printed');
  });

  it('offline: the sale is done, the receipt waits, and prints when the printer answers again', async () => {
    await statusWhere((s) => s.state === 'ready', 'ready');
    sim!.setOffline(true);
    const off = await statusWhere((s) => s.state === 'offline', 'offline');
    assert.equal(off.problem?.code, 'PRINTER_OFFLINE');
    const s = await sale(700);
    await statusWhere((x) => x.jobs[0]?.saleId === s.saleId && x.jobs[0]?.state === 'queued', 'queued');
    const out = nextReceipt();
    sim!.setOffline(false);
    assert.ok((await out).text.includes('￥7.00'));
    await statusWhere((x) => x.printed === 1 && x.waiting === 0, 'printed');
  });

  it('a printer that stops answering mid-receipt: "not printed — reprint"; the reprint comes out as 副本 / COPY', async () => {
    await statusWhere((s) => s.state === 'ready', 'ready');
    let lines = 0;
    sim!.on('line', () => {
      if (++lines === 4) sim!.setOffline(true);
    });
    const s = await sale(600);
    const failed = await statusWhere((x) => x.jobs[0]?.state === 'failed', 'failed');
    assert.equal(failed.jobs[0]!.problem?.code, 'RECEIPT_NOT_PRINTED');
    assert.match(failed.jobs[0]!.problem!.hint, /reprint/);
    assert.equal(failed.state, 'offline');
    sim!.setOffline(false);
    await statusWhere((x) => x.state === 'ready', 'ready again');
    const out = nextReceipt();
    // The merchant's reprint: the history's "print" (POST …/receipt/print), queued at once.
    const queued = await f!.api<{ state: string }>('POST', `/api/v1/sales/${s.saleId}/receipt/print`);
    assert.equal(queued.status, 202, JSON.stringify(queued.body));
    const r = await out;
    assert.ok(r.text.trimStart().startsWith('副本 / COPY'), r.text);
    assert.deepEqual(receiptFacts(r), { saleId: s.saleId, large: ['￥6.00'], copy: true });
    const after = await statusWhere((x) => x.printed === 1 && x.waiting === 0, 'reprinted');
    assert.equal(after.jobs.length, 0, 'the reprint replaces the receipt given up');
  });
});

/** The first `status` event of the counter's SSE stream. */
async function firstStatusEvent(f: DaemonFixture): Promise<{ printer: PrinterStatus }> {
  const ac = new AbortController();
  const res = await fetch(`${f.url}/api/v1/events`, {
    headers: { Authorization: `Bearer ${f.token}` },
    signal: ac.signal,
  });
  const reader = res.body!.getReader();
  let text = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
      const m = /event: status\ndata: (.*)\n\n/.exec(text);
      if (m) return JSON.parse(m[1]!) as { printer: PrinterStatus };
    }
  } finally {
    ac.abort();
  }
  throw new Error('no status event');
}

describe('receipt printer: a path with no device behind it', function () {
  this.timeout(30_000);
  it('is offline, says which path and what to do, and the sale is done all the same', async () => {
    const f = await DaemonFixture.start({
      config: { printer: { path: '/nonexistent/ttyUSB9', statusIntervalMs: 100, answerTimeoutMs: 100 } },
    });
    try {
      const s = (await f.api<SaleSnapshot>('POST', '/api/v1/sales', { amount: 300 })).body;
      assert.equal((await f.waitForSale(s.saleId, ['done', 'failed'])).state, 'done');
      const end = Date.now() + 5000;
      let st = (await f.api<{ printer: PrinterStatus }>('GET', '/api/v1/status')).body.printer;
      while (!(st.waiting === 1 && /does not exist/.test(st.problem?.message ?? '')) && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 50));
        st = (await f.api<{ printer: PrinterStatus }>('GET', '/api/v1/status')).body.printer;
      }
      assert.equal(st.state, 'offline');
      assert.equal(st.problem?.code, 'PRINTER_OFFLINE');
      assert.match(st.problem!.message, /\/nonexistent\/ttyUSB9 does not exist/);
      assert.match(st.problem!.hint, /printer\.path/);
      assert.equal(st.jobs[0]?.saleId, s.saleId);
      assert.equal(st.jobs[0]?.state, 'queued');
    } finally {
      await f.stop();
    }
  });

  it('a counter without a printer: the status says null; a print is refused PRINTER_NOT_CONFIGURED', async () => {
    const f = await DaemonFixture.start();
    try {
      assert.equal((await f.api<{ printer: unknown }>('GET', '/api/v1/status')).body.printer, null);
      assert.throws(
        () => f.daemon.printReceipt({} as Parameters<typeof f.daemon.printReceipt>[0], { copy: true }),
        (e: unknown) => (e as { code?: string }).code === 'PRINTER_NOT_CONFIGURED',
      );
      const s = (await f.api<SaleSnapshot>('POST', '/api/v1/sales', { amount: 300 })).body;
      await f.waitForSale(s.saleId, ['done']);
      const r = await f.api<{ error: { code: string; hint: string } }>(
        'POST',
        `/api/v1/sales/${s.saleId}/receipt/print`,
      );
      assert.equal(r.status, 409);
      assert.equal(r.body.error.code, 'PRINTER_NOT_CONFIGURED');
      const none = await f.api<{ error: { code: string } }>('POST', '/api/v1/sales/no-such-sale/receipt/print');
      assert.equal(none.body.error.code, 'SALE_NOT_FOUND');
    } finally {
      await f.stop();
    }
  });
});

describe('receipt printer as a USB printer-class device (usblp: written and read as a file, no line settings)', function () {
  // The kernel's usblp device (/dev/usb/lp0) is a character device with no tty settings; a raw pty is the
  // character device this machine has (no USB here), opened the same way: O_RDWR|O_NONBLOCK, polled reads.
  this.timeout(60_000);
  let dir: string;
  let pty: PtyPair | undefined;
  let sim: SimPrinter | undefined;
  let f: DaemonFixture | undefined;
  before(function () {
    requireSystem(this, socatPath() ? [] : ['socat'], 'apt-get install socat');
  });
  after(async () => {
    await f?.stop();
    await sim?.stop();
    await pty?.kill();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('prints a sale’s receipt, and reads paper-out and paper-in from the read side', async () => {
    dir = mkdtempSync(join(tmpdir(), 'cardpost-usblp-'));
    pty = await startPtyPair(join(dir, 'host'), join(dir, 'printer'));
    sim = new SimPrinter({ path: pty.b });
    await sim.start();
    f = await DaemonFixture.start({
      config: {
        shop: { timeZone: ZONE },
        printer: { path: pty.a, connection: 'usb', statusIntervalMs: 100, answerTimeoutMs: 300 },
      },
    });
    const printer = f.daemon.printer!;
    const until = async (pred: () => boolean, what: string) => {
      const end = Date.now() + 5000;
      while (!pred()) {
        if (Date.now() > end) throw new Error(`printer never ${what}: ${JSON.stringify(printer.status())}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await until(() => printer.status().state === 'ready', 'ready');
    sim.setPaperOut(true);
    await until(() => printer.status().state === 'paper-out', 'paper-out');
    const s = (await f.api<SaleSnapshot>('POST', '/api/v1/sales', { amount: 650 })).body;
    const at = await f.waitForSale(s.saleId, ['pin', 'done']);
    if (at.state === 'pin') await f.api('POST', `/api/v1/sales/${s.saleId}/pin`, { pin: FIXTURE_PIN });
    await f.waitForSale(s.saleId, ['done']);
    assert.equal(sim.receipts.length, 0, 'nothing sent to a printer without paper');
    const out = new Promise<PrintedReceipt>((resolve) => sim!.once('receipt', resolve));
    sim.setPaperOut(false);
    const r = await out;
    assert.ok(r.text.includes('￥6.50'), r.text);
    assert.deepEqual(receiptFacts(r), { saleId: s.saleId, large: ['￥6.50'], copy: false });
    await until(() => printer.status().printed === 1 && printer.status().waiting === 0, 'printed');
  });
});
