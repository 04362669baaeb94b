import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { CloseError, DayBook } from '../../host/close/day-book.js';
import { addDays, shopDayBounds } from '../../host/close/shop-day.js';
import { BankError, type BankClient } from '../../host/settlement/bank-client.js';
import { HostStore } from '../../host/store/host-store.js';

const ZONE = 'Europe/Berlin';
const H = 3_600_000;

/**
 * The day book over a real SQLite file, with the clock in the test's hand: when a day is over, what a
 * close freezes, and where what changes after a close is counted (host/close/day-book.ts).
 */
describe('day book: closes, frozen figures and late items (SQLite, a clock in hand)', () => {
  let dir: string;
  let store: HostStore;
  let now: number;
  let bankDown = false;
  const bank = {
    reconciliation: async () => {
      if (bankDown) throw new BankError('BANK_UNREACHABLE', 'the bank does not answer', 'try later', 'unknown', 0);
      return [];
    },
  } as unknown as BankClient;
  let book: DayBook;
  let n = 0;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cardpost-daybook-'));
    store = HostStore.open(join(dir, 'q.sqlite'));
    now = Date.parse('2026-10-26T12:00:00Z');
    bankDown = false;
    book = new DayBook({ store, bank, timeZone: ZONE, now: () => now });
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const sale = (at: number, amount: number, state = 'done') => {
    const id = `s${++n}`;
    store.db
      .prepare(
        `INSERT INTO sales (sale_id, host_nonce, amount, currency, state, created_at, updated_at) VALUES (?, ?, ?, 156, ?, ?, ?)`,
      )
      .run(id, Buffer.from([n, n >> 8, 7]), amount, state, at, at);
    return id;
  };
  const record = (at: number, amount: number, status = 'pending', reverses: number | null = null) => {
    const id = `00112233445566${String(++n).padStart(2, '0')}:1`;
    store.db
      .prepare(
        `INSERT INTO records (record_id, card_id, counter, amount, currency, merchant_id, terminal_id, record_time, host_nonce,
         balance_after, cvm, hash, prev_hash, envelope, origin, status, stored_at, reverses)
         VALUES (?, '0011223344556677', 1, ?, 156, 'M', 'T', 0, x'00', 0, 0, x'00', x'00', x'00', 'sale', ?, ?, ?)`,
      )
      .run(id, amount, status, at, reverses);
    return id;
  };
  const setState = (table: string, col: string, id: string, idCol: string, v: string) =>
    store.db.prepare(`UPDATE ${table} SET ${col} = ? WHERE ${idCol} = ?`).run(v, id);

  it('a day closes only once it is over (its 25 hours across the autumn DST change); twice answers the stored report', async () => {
    const [from, to] = shopDayBounds('2026-10-25', ZONE);
    assert.equal(to - from, 25 * H);
    sale(from, 100);
    sale(to - 1, 200); // 23:59:59.999 local, in the 25th hour
    sale(to, 400); // the next day
    now = to - 1;
    await assert.rejects(
      book.close('2026-10-25'),
      (e: unknown) => e instanceof CloseError && e.code === 'CLOSE_DAY_NOT_OVER',
    );
    now = to;
    const { report, alreadyClosed } = await book.close('2026-10-25');
    assert.equal(alreadyClosed, false);
    assert.deepEqual(report.sales.done, { count: 2, byCurrency: [{ currency: 156, count: 2, amount: 300 }] });
    assert.equal(report.from, new Date(from).toISOString());
    const again = await book.close('2026-10-25');
    assert.equal(again.alreadyClosed, true);
    assert.deepEqual(again.report, report);
    assert.deepEqual(await book.report('2026-10-25'), report);
  });

  it('a sale still going on stops the close (CLOSE_SALE_ACTIVE); nothing is stored', async () => {
    const [from] = shopDayBounds('2026-10-24', ZONE);
    sale(from + H, 100, 'pin');
    await assert.rejects(
      book.close('2026-10-24'),
      (e: unknown) => e instanceof CloseError && e.code === 'CLOSE_SALE_ACTIVE',
    );
    assert.deepEqual(store.closes.closedDates(), []);
  });

  it('the bank down: the day closes all the same and its report says the bank was not checked', async () => {
    bankDown = true;
    const { report } = await book.close('2026-10-24');
    assert.deepEqual(report.bank, {
      checked: false,
      error: { code: 'BANK_UNREACHABLE', message: 'the bank does not answer', hint: 'try later' },
    });
  });

  it('changes after a close go to the first open day after it, flagged; closing that day too takes them once', async () => {
    const d1 = '2026-10-22';
    const [f1] = shopDayBounds(d1, ZONE);
    const u = sale(f1 + H, 500, 'unconfirmed');
    const r = record(f1 + H, 500, 'sending');
    const v = 'v1';
    store.db
      .prepare(
        `INSERT INTO voids (void_id, sale_id, record_id, card_id, counter, amount, currency, merchant_id, terminal_id, request_time,
         host_nonce, state, created_at, updated_at) VALUES (?, 'sx', 'rx', 'c', 1, 300, 156, 'M', 'T', 0, x'99', 'signing', ?, ?)`,
      )
      .run(v, f1 + 2 * H, f1 + 2 * H);
    const rev = record(f1 + 2 * H, 300, 'pending', 1);
    store.db
      .prepare(
        `INSERT INTO refunds (refund_id, sale_id, record_id, card_id, amount, currency, state, created_at, updated_at)
         VALUES ('f1', 'sy', 'ry', 'c', 150, 156, 'queued', ?, ?)`,
      )
      .run(f1 + 3 * H, f1 + 3 * H);
    const c1 = (await book.close(d1)).report;
    assert.equal(c1.sales.unconfirmed.count, 1);
    assert.equal(c1.records.pending.count, 2);
    assert.equal(c1.records.pending.byCurrency[0]!.amount, 200, 'a reversal record gives back: 500 − 300');
    assert.equal(c1.voids.signing.byCurrency[0]!.amount, 300);
    assert.equal(c1.refunds.pending.byCurrency[0]!.amount, 150);
    // the next day is closed too, before anything changes: nothing to count late there
    const d2 = addDays(d1, 1);
    const c2 = (await book.close(d2)).report;
    assert.deepEqual(c2.late, []);
    // then: the sale turns paid, the records settle, the void is signed, the refund fails; a record of d1 shows up late
    setState('sales', 'state', u, 'sale_id', 'done');
    setState('records', 'status', r, 'record_id', 'settled');
    setState('records', 'status', rev, 'record_id', 'settled');
    setState('voids', 'state', v, 'void_id', 'voided');
    setState('refunds', 'state', 'f1', 'refund_id', 'failed');
    const lateRecord = record(f1 + 5 * H, 70, 'pending');
    const d3 = addDays(d2, 1);
    const open = await book.report(d3);
    assert.equal(open.state, 'open');
    assert.deepEqual(
      open.late.map((l) => [l.kind, l.from, l.was, l.state]).sort(),
      [
        ['record', d1, 'pending', 'settled'],
        ['record', d1, 'pending', 'settled'],
        ['record', d1, null, 'pending'],
        ['refund', d1, 'queued', 'failed'],
        ['sale', d1, 'unconfirmed', 'done'],
        ['void', d1, 'signing', 'voided'],
      ].sort(),
    );
    assert.equal(open.sales.done.byCurrency[0]!.amount, 500);
    assert.equal(open.voids.voided.count, 1);
    assert.equal(open.refunds.failed.count, 1);
    assert.ok(open.late.some((l) => l.id === lateRecord));
    // the closed days answer as they were
    assert.deepEqual(await book.report(d1), c1);
    assert.deepEqual(await book.report(d2), c2);
    // closing d3 takes the late items; the day after has none left
    now = shopDayBounds(addDays(d3, 2), ZONE)[0];
    const c3 = (await book.close(d3)).report;
    assert.equal(c3.late.length, 6);
    assert.deepEqual((await book.report(addDays(d3, 1))).late, []);
  });

  it('property: whatever the days closed and the changes between, each item is counted in its current state exactly once among the open days', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ day: fc.integer({ min: 0, max: 5 }), hour: fc.integer({ min: 0, max: 23 }) }), {
          minLength: 1,
          maxLength: 12,
        }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.boolean()), { maxLength: 8 }),
        async (sales, steps) => {
          store.db.exec('DELETE FROM sales; DELETE FROM day_closes; DELETE FROM close_items;');
          const base = '2026-09-01';
          now = shopDayBounds(addDays(base, 7), ZONE)[0];
          const ids = sales.map((s) =>
            sale(shopDayBounds(addDays(base, s.day), ZONE)[0] + s.hour * H, 10, 'unconfirmed'),
          );
          for (const [day, change] of steps) {
            if (change) setState('sales', 'state', ids[day % ids.length]!, 'sale_id', 'done');
            else await book.close(addDays(base, day));
          }
          const closed = new Set(store.closes.closedDates());
          let done = 0;
          for (let d = 0; d < 8; d++) {
            const date = addDays(base, d);
            if (closed.has(date)) continue;
            const r = await book.report(date);
            done += r.sales.done.count;
          }
          const current = store.db.prepare(`SELECT COUNT(*) AS n FROM sales WHERE state = 'done'`).get() as {
            n: number;
          };
          // a sale done in a closed day's report is not counted again in an open one
          const doneInCloses = store.db
            .prepare(`SELECT COUNT(*) AS n FROM close_items WHERE kind = 'sale' AND state = 'done'`)
            .get() as { n: number };
          assert.equal(done + doneInCloses.n, current.n);
        },
      ),
      { numRuns: 40 },
    );
  });
});
