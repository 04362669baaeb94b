import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { runCli } from '../../host/cli/main.js';
import type { ZReport } from '../../host/close/day-report.js';
import type { HistorySale } from '../../host/close/sale-history.js';
import { addDays, shopDayBounds, shopDayOf } from '../../host/close/shop-day.js';
import type { SaleSnapshot } from '../../host/sale/sale-types.js';
import type { Reconciliation } from '../../host/settlement/reconcile.js';
import { DaemonFixture } from '../support/daemon-fixture.js';
import { until } from '../support/settlement-helpers.js';

const ZONE = 'Asia/Shanghai';
const DAY_MS = 86_400_000;
type Err = { error: { code: string; message: string; hint: string } };

async function cli(f: DaemonFixture, args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(
    [...args, '--data-dir', join(f.dir, 'data')],
    { out: (l) => out.push(l), setExitCode: () => {} },
    (l) => err.push(l),
  );
  return { code, out, err };
}

async function pay(f: DaemonFixture, amount: number): Promise<SaleSnapshot> {
  const s = await f.api<SaleSnapshot>('POST', '/api/v1/sales', { amount });
  assert.equal(s.status, 201, JSON.stringify(s.body));
  return f.waitForSale(s.body.saleId);
}

/**
 * Move a sale and its record one day back, as if they had happened yesterday: the daemon's clock cannot
 * be moved without its clock check refusing sales, and a day can only be closed once it is over.
 */
function toYesterday(f: DaemonFixture, saleId: string): void {
  const db = f.daemon.store.db;
  db.prepare('UPDATE sales SET created_at = created_at - ? WHERE sale_id = ?').run(DAY_MS, saleId);
  db.prepare('UPDATE records SET stored_at = stored_at - ? WHERE sale_id = ?').run(DAY_MS, saleId);
}

const today = () => shopDayOf(Date.now(), ZONE);

describe('daemon: day close (Z report) in the shop time zone, history and reprint', function () {
  this.timeout(30_000);
  let f: DaemonFixture | undefined;
  afterEach(async () => {
    await f?.stop();
    f = undefined;
  });

  it('a closed day is stored and frozen: the same report after later changes; a late sale counts in the next open day, flagged', async function () {
    f = await DaemonFixture.start({ config: { shop: { timeZone: ZONE } } });
    if (today() !== shopDayOf(Date.now() + 5_000, ZONE)) this.skip(); // midnight in Shanghai: try another time
    const yesterday = addDays(today(), -1);
    const a = await pay(f, 500);
    const b = await pay(f, 250);
    const c = await f.api<SaleSnapshot>('POST', '/api/v1/sales', { amount: 300 });
    await f.api('POST', `/api/v1/sales/${c.body.saleId}/cancel`);
    for (const s of [a.saleId, b.saleId, c.body.saleId]) toYesterday(f, s);

    // today is not over: a typed refusal that says when it ends; nothing stored
    const early = await f.api<Err>('POST', '/api/v1/closes', { date: today() });
    assert.equal(early.status, 409);
    assert.equal(early.body.error.code, 'CLOSE_DAY_NOT_OVER');
    assert.match(early.body.error.message, /Asia\/Shanghai/);

    const closed = await f.api<{ alreadyClosed: boolean; report: ZReport }>('POST', '/api/v1/closes', {
      date: yesterday,
    });
    assert.equal(closed.status, 201, JSON.stringify(closed.body));
    const r = closed.body.report;
    assert.equal(r.state, 'closed');
    assert.equal(r.timeZone, ZONE);
    assert.deepEqual(
      [r.from, r.to],
      shopDayBounds(yesterday, ZONE).map((t) => new Date(t).toISOString()),
    );
    assert.deepEqual(r.sales.done, { count: 2, byCurrency: [{ currency: 156, count: 2, amount: 750 }] });
    assert.equal(r.sales.cancelled.count, 1);
    assert.equal(r.records.pending.count + r.records.settled.count, 2);
    assert.deepEqual(r.voids.voided, { count: 0, byCurrency: [] });
    assert.equal(r.refunds.credited.count, 0);
    assert.equal(r.bank.checked, true);
    assert.deepEqual(r.late, []);

    // a sale of that day turns up after the close (the clock was behind): the stored report is unchanged
    const late = await pay(f, 125);
    toYesterday(f, late.saleId);
    const again = await f.api<ZReport>('GET', `/api/v1/closes/${yesterday}`);
    assert.deepEqual(again.body, r, 'the stored report, as stored');
    // closing twice answers the stored report (idempotent), 200
    const twice = await f.api<{ alreadyClosed: boolean; report: ZReport }>('POST', '/api/v1/closes', {
      date: yesterday,
    });
    assert.equal(twice.status, 200);
    assert.equal(twice.body.alreadyClosed, true);
    assert.deepEqual(twice.body.report, r);
    // ... and it falls in the first open day after, today, which says where it came from
    const now = await f.api<ZReport>('GET', `/api/v1/closes/${today()}`);
    assert.equal(now.body.state, 'open');
    assert.equal(now.body.sales.done.count, 1);
    assert.deepEqual(
      now.body.late.filter((l) => l.kind === 'sale').map((l) => [l.id, l.from, l.was, l.state]),
      [[late.saleId, yesterday, null, 'done']],
    );
    const list = await f.api<{ closes: { date: string }[]; timeZone: string }>('GET', '/api/v1/closes');
    assert.deepEqual(
      list.body.closes.map((x) => x.date),
      [yesterday],
    );
  });

  it('a record pending at the close and settled after it: late in the next open day; the closed day still says pending', async function () {
    f = await DaemonFixture.start({ config: { shop: { timeZone: ZONE } } });
    if (today() !== shopDayOf(Date.now() + 10_000, ZONE)) this.skip();
    const yesterday = addDays(today(), -1);
    f.bank.setFaults({ down: true });
    await until(() => !f!.daemon.worker.status().online, 'the counter to see the bank down');
    const s = await pay(f, 400);
    toYesterday(f, s.saleId);
    const closed = await f.api<{ report: ZReport }>('POST', '/api/v1/closes', { date: yesterday });
    assert.equal(closed.status, 201);
    assert.equal(closed.body.report.records.pending.count, 1);
    assert.equal(closed.body.report.bank.checked, false, 'closed while the bank is down: said so, not refused');
    f.bank.setFaults({ down: false });
    f.daemon.settleNow();
    await until(() => f!.daemon.store.statusCounts().settled.count === 1, 'settlement');
    const frozen = await f.api<ZReport>('GET', `/api/v1/closes/${yesterday}`);
    assert.deepEqual(frozen.body, closed.body.report);
    const open = await f.api<ZReport>('GET', `/api/v1/closes/${today()}`);
    assert.equal(open.body.records.settled.count, 1);
    assert.deepEqual(
      open.body.late.map((l) => [l.kind, l.from, l.was, l.state, l.amount]),
      [['record', yesterday, 'pending', 'settled', 400]],
    );
    // reconcile over the shop day: the record settled today (bank time) on both sides
    const rec = await f.api<Reconciliation>('GET', '/api/v1/reconciliation');
    assert.equal(rec.status, 200);
    assert.equal(rec.body.date, today());
    assert.equal(rec.body.timeZone, ZONE);
    assert.equal(rec.body.from, new Date(shopDayBounds(today(), ZONE)[0]).toISOString());
    assert.equal(rec.body.match, true, JSON.stringify(rec.body));
    assert.deepEqual(
      rec.body.lines.map((l) => [l.host.count, l.bank.count, l.bank.amount]),
      [[1, 1, 400]],
    );
    // and once today is closed too, the record is not counted again anywhere
    const tomorrow = await f.api<ZReport>('GET', `/api/v1/closes/${addDays(today(), 1)}`);
    assert.deepEqual(tomorrow.body.late, []);
  });

  it('reconcile counts the shop day, not the UTC day: a settlement in its first second (16:00 UTC) is in it, the second before is not', async () => {
    f = await DaemonFixture.start({ config: { shop: { timeZone: ZONE } } });
    await pay(f, 200);
    f.daemon.settleNow();
    await until(() => f!.daemon.store.statusCounts().settled.count === 1, 'settlement');
    const day = today();
    const [from] = shopDayBounds(day, ZONE);
    // the host's own row, moved to the shop day's first second (00:00 in Shanghai, 16:00 UTC the day before)
    f.daemon.store.db.prepare('UPDATE records SET settled_at = ?').run(from / 1000);
    const rec = await f.daemon.reconcile(day);
    assert.equal(rec.lines[0]?.host.count, 1, 'the first second of the shop day is in it');
    f.daemon.store.db.prepare('UPDATE records SET settled_at = ?').run(from / 1000 - 1);
    const before = await f.daemon.reconcile(day);
    assert.equal(before.lines[0]?.host.count, 0, 'the second before is the day before');
    assert.equal((await f.daemon.reconcile(addDays(day, -1))).lines[0]?.host.count, 1);
  });

  it('history: the day’s sales, searched by card digits, amount and outcome; bad dates and queries are typed 400s', async () => {
    f = await DaemonFixture.start({ config: { shop: { timeZone: ZONE } } });
    const a = await pay(f, 500);
    const c = await f.api<SaleSnapshot>('POST', '/api/v1/sales', { amount: 321 });
    await f.api('POST', `/api/v1/sales/${c.body.saleId}/cancel`);
    const last4 = f.cardId.slice(-4).toUpperCase();
    const all = await f.api<{ date: string; timeZone: string; sales: HistorySale[] }>(
      'GET',
      `/api/v1/sales?date=${today()}`,
    );
    assert.equal(all.status, 200);
    assert.equal(all.body.timeZone, ZONE);
    assert.deepEqual(
      all.body.sales.map((s) => [s.saleId, s.amount, s.outcome, s.receipt]),
      [
        [a.saleId, 500, 'done', true],
        [c.body.saleId, 321, 'cancelled', false],
      ],
    );
    assert.equal(all.body.sales[0]!.cardLast4, last4);
    const byCard = await f.api<{ sales: HistorySale[] }>('GET', `/api/v1/sales?q=${last4}`);
    assert.deepEqual(
      byCard.body.sales.map((s) => s.saleId),
      [a.saleId],
    );
    const byAmount = await f.api<{ sales: HistorySale[] }>('GET', `/api/v1/sales?date=${today()}&q=3.21`);
    assert.deepEqual(
      byAmount.body.sales.map((s) => s.saleId),
      [c.body.saleId],
    );
    const none = await f.api<{ sales: HistorySale[] }>('GET', `/api/v1/sales?date=${addDays(today(), -3)}`);
    assert.deepEqual(none.body.sales, []);
    // without a query: the list it always was
    const plain = await f.api<{ active: unknown[]; recent: unknown[] }>('GET', '/api/v1/sales');
    assert.ok(Array.isArray(plain.body.active) && plain.body.recent.length === 2);
    for (const bad of [
      '?date=2026-02-30',
      '?date=yesterday',
      '?date=2026-12-5',
      '?q=%3Cscript%3E',
      '?q=' + 'x'.repeat(41),
      '?q=',
      '?page=2',
    ]) {
      const r: { status: number; body: Err } = await f.api<Err>('GET', `/api/v1/sales${bad}`);
      assert.equal(r.status, 400, bad);
      assert.equal(r.body.error.code, 'REQUEST_INVALID', bad);
      assert.ok(r.body.error.hint.length > 0);
    }
    for (const [method, path, body] of [
      ['GET', '/api/v1/closes/2026-13-01', undefined],
      ['GET', '/api/v1/closes/tomorrow', undefined],
      ['POST', '/api/v1/closes', { date: '2026-02-29' }],
      ['POST', '/api/v1/closes', { date: 20261205 }],
      ['POST', '/api/v1/closes', {}],
      ['GET', '/api/v1/closes?limit=0', undefined],
      ['GET', '/api/v1/reconciliation?date=2026-04-31', undefined],
      ['GET', '/api/v1/topups?date=2026-04-31', undefined],
    ] as const) {
      const r: { status: number; body: Err } = await f.api<Err>(method, path, body);
      assert.equal(r.status, 400, `${method} ${path} ${JSON.stringify(body)}`);
      assert.match(r.body.error.code, /^(REQUEST_INVALID|TOPUP_INVALID)$/);
    }
    assert.equal(f.daemon.store.closes.closedDates().length, 0, 'nothing closed by a bad request');
  });

  it('reprint: a paid sale’s receipt again, marked 副本 / COPY; none for a cancelled or unknown sale; the CLI commands', async () => {
    f = await DaemonFixture.start({ config: { shop: { timeZone: ZONE } } });
    const a = await pay(f, 500);
    const r = await f.api<{ copy: boolean; lines: string[] }>('GET', `/api/v1/sales/${a.saleId}/receipt`);
    assert.equal(r.status, 200);
    assert.equal(r.body.copy, true);
    assert.equal(r.body.lines[0], '*** 副本 / COPY ***');
    assert.ok(r.body.lines.includes('金额 Amount: ¥5.00'));
    assert.ok(r.body.lines.some((l) => l.includes(a.receipt!.recordId)));
    const c = await f.api<SaleSnapshot>('POST', '/api/v1/sales', { amount: 100 });
    await f.api('POST', `/api/v1/sales/${c.body.saleId}/cancel`);
    const none = await f.api<Err>('GET', `/api/v1/sales/${c.body.saleId}/receipt`);
    assert.equal(none.status, 404);
    assert.equal(none.body.error.code, 'SALE_NO_RECEIPT');
    const unknown = await f.api<Err>('GET', '/api/v1/sales/no-such-sale/receipt');
    assert.equal(unknown.body.error.code, 'SALE_NOT_FOUND');

    const receipt = await cli(f, ['sale', 'receipt', a.saleId]);
    assert.equal(receipt.code, 0, receipt.err.join('\n'));
    assert.equal(receipt.out[0], '*** 副本 / COPY ***');
    const sales = await cli(f, ['sales']);
    assert.equal(sales.code, 0, sales.err.join('\n'));
    assert.match(sales.out[0]!, new RegExp(`^${today()} \\(Asia/Shanghai\\): 2 sales`));
    assert.ok(sales.out.some((l) => l.includes(a.saleId) && l.includes('¥5.00') && l.includes('done')));
    const json = await cli(f, ['sales', '--search', '5.00', '--json']);
    assert.deepEqual(
      (JSON.parse(json.out.join('\n')) as { sales: HistorySale[] }).sales.map((s) => s.saleId),
      [a.saleId],
    );
    const dry = await cli(f, ['close', '--dry-run']); // today's running figures
    assert.equal(dry.code, 0, dry.err.join('\n'));
    assert.match(dry.out[0]!, new RegExp(`日结报告 Z report ${today()} .* OPEN`));
    assert.ok(
      dry.out.some((l) => /成功 done 1 · ¥5\.00/.test(l)),
      dry.out.join('\n'),
    );
    const refused = await cli(f, ['close', '--date', today()]);
    assert.equal(refused.code, 1, 'a refusal (conflict) exits 1');
    assert.match(refused.err.join('\n'), /CLOSE_DAY_NOT_OVER/);
    const closed = await cli(f, ['close']); // yesterday by default: nothing in it, closed
    assert.equal(closed.code, 0, closed.err.join('\n'));
    assert.match(closed.out[0]!, new RegExp(`Z report ${addDays(today(), -1)} .*CLOSED`));
    const bad = await cli(f, ['close', '--date', '2026-02-30']);
    assert.equal(bad.code, 2);
    assert.match(bad.err.join('\n'), /CLI_DATE/);
    const list = await cli(f, ['close', '--list']);
    assert.match(list.out[0]!, new RegExp(`^${addDays(today(), -1)} `));
  });
});
