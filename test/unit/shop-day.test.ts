import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import {
  addDays,
  canonicalTimeZone,
  isShopDate,
  shopClock,
  shopDayBounds,
  shopDayOf,
} from '../../host/close/shop-day.js';
import { loadConfig } from '../../host/daemon/config.js';
import { ConfigError } from '../../host/daemon/config.js';
import { dayFigures, saleOutcome } from '../../host/close/day-report.js';
import { receiptLines, saleHistory } from '../../host/close/sale-history.js';
import type { DayItem } from '../../host/store/day-closes.js';

const H = 3_600_000;
const ZONES = [
  'Europe/Berlin',
  'Asia/Shanghai',
  'America/New_York',
  'Australia/Lord_Howe',
  'UTC',
  'Pacific/Kiritimati',
];

describe('shop day: the business day in the shop time zone', () => {
  it('Asia/Shanghai: the day runs 16:00 UTC the day before to 16:00 UTC, 24 h', () => {
    const [from, to] = shopDayBounds('2026-12-05', 'Asia/Shanghai');
    assert.equal(new Date(from).toISOString(), '2026-12-04T16:00:00.000Z');
    assert.equal(new Date(to).toISOString(), '2026-12-05T16:00:00.000Z');
    assert.equal(shopDayOf(Date.parse('2026-12-05T15:59:59.999Z'), 'Asia/Shanghai'), '2026-12-05');
    assert.equal(shopDayOf(Date.parse('2026-12-05T16:00:00.000Z'), 'Asia/Shanghai'), '2026-12-06');
    // 08:00 in Shanghai is midnight UTC: the UTC day the old reconcile used cut the shop's day in two
    assert.equal(shopDayOf(Date.parse('2026-12-05T00:30:00Z'), 'Asia/Shanghai'), '2026-12-05');
    assert.equal(shopDayOf(Date.parse('2026-12-04T23:30:00Z'), 'Asia/Shanghai'), '2026-12-05');
  });

  it('Europe/Berlin across DST: the spring day is 23 h, the autumn day 25 h, both start at local midnight', () => {
    const [sf, st] = shopDayBounds('2026-03-29', 'Europe/Berlin');
    assert.equal(new Date(sf).toISOString(), '2026-03-28T23:00:00.000Z'); // CET midnight
    assert.equal(new Date(st).toISOString(), '2026-03-29T22:00:00.000Z'); // CEST midnight
    assert.equal(st - sf, 23 * H);
    const [af, at] = shopDayBounds('2026-10-25', 'Europe/Berlin');
    assert.equal(new Date(af).toISOString(), '2026-10-24T22:00:00.000Z');
    assert.equal(new Date(at).toISOString(), '2026-10-25T23:00:00.000Z');
    assert.equal(at - af, 25 * H);
    // the hour that happens twice (02:00–03:00 local) stays on the same day
    assert.equal(shopDayOf(Date.parse('2026-10-25T00:30:00Z'), 'Europe/Berlin'), '2026-10-25');
    assert.equal(shopDayOf(Date.parse('2026-10-25T01:30:00Z'), 'Europe/Berlin'), '2026-10-25');
    assert.equal(shopClock(Date.parse('2026-10-25T00:30:00Z'), 'Europe/Berlin'), '2026-10-25 02:30:00');
  });

  it('property: every instant lies in the bounds of its own day, and days tile time without gaps', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ZONES),
        fc.integer({ min: Date.parse('1990-01-01T00:00:00Z'), max: Date.parse('2060-01-01T00:00:00Z') }),
        (zone, t) => {
          const day = shopDayOf(t, zone);
          const [from, to] = shopDayBounds(day, zone);
          assert.ok(from <= t && t < to, `${zone} ${new Date(t).toISOString()} in ${day}`);
          assert.equal(shopDayOf(from, zone), day);
          assert.equal(shopDayOf(to - 1, zone), day);
          assert.equal(shopDayOf(from - 1, zone), addDays(day, -1));
          assert.equal(shopDayBounds(addDays(day, 1), zone)[0], to, 'the next day starts where this one ends');
          assert.ok(to - from >= 22 * H && to - from <= 26 * H, `${to - from} ms`);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('dates: only calendar dates YYYY-MM-DD; a bad one is a RangeError', () => {
    for (const d of ['2026-02-29', '2026-13-01', '2026-1-01', '20261201', '', '2026-12-05T00:00', '1969-12-31'])
      assert.equal(isShopDate(d), false, d);
    assert.equal(isShopDate('2028-02-29'), true);
    assert.throws(() => shopDayBounds('2026-02-30', 'UTC'), RangeError);
    assert.equal(addDays('2026-12-31', 1), '2027-01-01');
    assert.equal(addDays('2026-03-01', -1), '2026-02-28');
  });

  it('config: shop.timeZone is canonicalised, defaults to the machine zone; a bad zone is CONFIG_TIME_ZONE with what to do', () => {
    assert.equal(canonicalTimeZone('asia/shanghai'), 'Asia/Shanghai');
    assert.equal(
      loadConfig({ env: {}, overrides: { shop: { timeZone: 'asia/shanghai' } } }).shop.timeZone,
      'Asia/Shanghai',
    );
    assert.equal(loadConfig({ env: {} }).shop.timeZone, Intl.DateTimeFormat().resolvedOptions().timeZone);
    assert.equal(loadConfig({ env: { CARDPOST_TIME_ZONE: 'Europe/Berlin' } }).shop.timeZone, 'Europe/Berlin');
    for (const bad of ['Mars/Olympus_Mons', 'UTC+8', '../etc/passwd'])
      assert.throws(
        () => loadConfig({ env: {}, overrides: { shop: { timeZone: bad } } }),
        (e: unknown) =>
          e instanceof ConfigError &&
          e.code === 'CONFIG_TIME_ZONE' &&
          e.message.includes('shop.timeZone') &&
          /Asia\/Shanghai/.test(e.hint),
      );
  });
});

const sale = (id: string, state: string, amount: number, cardId: string | null = 'a1b2c3d4e5f60718'): DayItem => ({
  kind: 'sale',
  id,
  time: Date.parse('2026-12-05T02:03:04Z'),
  state,
  amount,
  currency: 156,
  method: null,
  cardId,
  recordId: state === 'done' ? `${cardId}:1` : null,
});

describe('day report figures, history search and receipt copies (pure)', () => {
  it('counts sales by outcome (timed out with cancelled), top-ups by method, records by status', () => {
    const f = dayFigures([
      sale('s1', 'done', 1250),
      sale('s2', 'done', 750),
      sale('s3', 'timed_out', 100),
      sale('s4', 'cancelled', 200),
      sale('s5', 'unconfirmed', 300),
      sale('s6', 'failed', 400),
      { ...sale('t1', 'loaded', 20000), kind: 'topup', method: 'cash' },
      { ...sale('t2', 'loaded', 5000), kind: 'topup', method: 'account' },
      { ...sale('t3', 'requested', 1000), kind: 'topup', method: 'cash' },
      { ...sale('r1', 'pending', 1250), kind: 'record' },
      { ...sale('r2', 'settled', 750), kind: 'record' },
    ]);
    assert.deepEqual(f.sales.done, { count: 2, byCurrency: [{ currency: 156, count: 2, amount: 2000 }] });
    assert.equal(f.sales.cancelled.count, 2);
    assert.equal(f.sales.unconfirmed.byCurrency[0]!.amount, 300);
    assert.equal(f.sales.failed.count, 1);
    assert.equal(f.topups.loaded.byCurrency[0]!.amount, 25000);
    assert.equal(f.topups.byMethod.cash.byCurrency[0]!.amount, 20000);
    assert.equal(f.topups.unfinished.count, 1);
    assert.equal(f.records.pending.byCurrency[0]!.amount, 1250);
    assert.equal(f.records.settled.count, 1);
    assert.equal(saleOutcome('pin'), null);
  });

  it('history search: by card last 4, amount, id prefix and outcome; never the whole card id', () => {
    const list = [
      sale('abc123', 'done', 1250),
      sale('def456', 'cancelled', 800, '00000000000099ff'),
      sale('789', 'failed', 5, null),
    ];
    const ids = (q?: string) => saleHistory(list, 'Asia/Shanghai', q).map((h) => h.saleId);
    assert.deepEqual(ids(), ['abc123', 'def456', '789']);
    assert.deepEqual(ids('0718'), ['abc123']);
    assert.deepEqual(ids('99FF'), ['def456']);
    assert.deepEqual(ids('12.5'), ['abc123']);
    assert.deepEqual(ids('8.00'), ['def456']);
    assert.deepEqual(ids('def'), ['def456']);
    assert.deepEqual(ids('failed'), ['789']);
    assert.deepEqual(ids('nothing'), []);
    const h = saleHistory(list, 'Asia/Shanghai')[0]!;
    assert.equal(h.cardLast4, '0718');
    assert.equal(h.shopTime, '2026-12-05 10:03:04');
    // the card shows as its last 4 digits only (the record id names the card, as on every receipt)
    assert.ok(!Object.keys(h).includes('cardId'));
    assert.equal(saleHistory(list, 'UTC')[1]!.recordId, null);
  });

  it('a reprint is marked 副本 / COPY at the top and the bottom, in the shop time', () => {
    const lines = receiptLines(
      {
        saleId: 's',
        recordId: 'a1b2c3d4e5f60718:1',
        amount: 1250,
        currency: 156,
        merchantId: 'M-1',
        terminalId: 'T-1',
        time: Date.parse('2026-12-05T02:03:04Z') / 1000,
        card: '************0718',
        counter: 1,
        balanceAfter: 500,
        pinVerified: true,
        online: false,
      },
      { timeZone: 'Asia/Shanghai', copy: true },
    );
    assert.equal(lines[0], '*** 副本 / COPY ***');
    assert.equal(lines.at(-1), '*** 副本 / COPY ***');
    assert.ok(lines.includes('时间 Time: 2026-12-05 10:03:04 (Asia/Shanghai)'));
    assert.ok(lines.includes('金额 Amount: ¥12.50'));
  });
});
