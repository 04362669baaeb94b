import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { decodeCommandApdu } from '../../protocol/apdu/index.js';
import { CardClient, CMD } from '../../protocol/commands/index.js';
import { BankError } from '../../host/settlement/bank-client.js';
import { runCli } from '../../host/cli/main.js';
import { DaemonFixture } from '../support/daemon-fixture.js';
import { until } from '../support/settlement-helpers.js';
import type { SaleSnapshot } from '../../host/sale/sale-types.js';
import type { TopupSnapshot } from '../../host/card-services/topup-types.js';
import type { CardSummary } from '../../host/sale/reader-diagnostics.js';
import type { ConfigInput } from '../../host/daemon/config.js';

const READER = encodeURIComponent('fixture reader');
type ApiError = { error: { code: string; message: string } };

/** The simulated bank's top-ups of a card (read-only, beside the running bank). */
function bankTopups(f: DaemonFixture): { loadSeq: number; amount: number }[] {
  const db = new Database(join(f.dir, 'bank.sqlite'), { readonly: true, fileMustExist: true });
  try {
    return db
      .prepare('SELECT load_seq AS loadSeq, amount FROM topups WHERE card_id = ? ORDER BY load_seq')
      .all(f.cardId) as { loadSeq: number; amount: number }[];
  } finally {
    db.close();
  }
}

/** The card as the daemon reads it (a card session: stored tokens are applied on the way). */
async function card(f: DaemonFixture): Promise<CardSummary & { loadCounter?: number }> {
  const r = await f.api<CardSummary>('GET', `/api/v1/readers/${READER}/card`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

/** What the card itself says (bypassing the host): its load counter and balance. */
async function onCard(f: DaemonFixture) {
  const c = new CardClient({ extendedLength: true, transmit: async (a) => f.applet.transmit(a) });
  await c.select();
  return c.getInfo();
}

const isLoad = (apdu: Uint8Array) => {
  try {
    return decodeCommandApdu(apdu).data?.[0] === CMD.LOAD;
  } catch {
    return false;
  }
};

async function pay(f: DaemonFixture, amount: number): Promise<SaleSnapshot> {
  const r = await f.api<SaleSnapshot>('POST', '/api/v1/sales', { amount });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const s = await f.waitForSale(r.body.saleId);
  assert.equal(s.state, 'done', JSON.stringify(s));
  return s;
}

const settled = (f: DaemonFixture) => () => f.daemon.store.statusCounts().pending.count === 0;

describe('top-up and sync at the counter (issue 14)', function () {
  this.timeout(60_000);
  let f: DaemonFixture;
  const start = async (config: ConfigInput = {}) => {
    f = await DaemonFixture.start({ config: { cardServices: { autoSyncAt: null }, ...config } });
  };
  afterEach(async () => {
    await f?.stop();
  });

  it('a cash top-up raises the balance on the card and at the bank exactly once; the same Idempotency-Key gives the same top-up', async () => {
    await start();
    const before = await onCard(f);
    const key = `k-${randomBytes(4).toString('hex')}`;
    const r = await f.api<TopupSnapshot>(
      'POST',
      '/api/v1/topups',
      { amount: 20_000, method: 'cash', reader: 'fixture reader' },
      { 'Idempotency-Key': key },
    );
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.state, 'loaded');
    assert.equal(r.body.balance, before.balance + 20_000);
    assert.equal(r.body.method, 'cash');
    const again = await f.api<TopupSnapshot>(
      'POST',
      '/api/v1/topups',
      { amount: 20_000, method: 'cash', reader: 'fixture reader' },
      { 'Idempotency-Key': key },
    );
    assert.equal(again.status, 201);
    assert.equal(again.body.topupId, r.body.topupId);
    const after = await onCard(f);
    assert.equal(after.balance, before.balance + 20_000, 'loaded once');
    assert.equal(after.loadCounter, before.loadCounter + 1);
    assert.deepEqual(bankTopups(f), [{ loadSeq: before.loadCounter + 1, amount: 20_000 }]);
    const got = await f.api<TopupSnapshot>('GET', `/api/v1/topups/${r.body.topupId}`);
    assert.equal(got.body.state, 'loaded');
    // The cash drawer: the day's top-ups in cash, per currency (UTC day).
    const day = await f.api<{ timeZone: string; cash: { currency: number; count: number; amount: number }[] }>(
      'GET',
      `/api/v1/topups?date=${new Date().toISOString().slice(0, 10)}`,
    );
    assert.equal(day.body.timeZone, 'UTC');
    assert.deepEqual(day.body.cash, [{ currency: 156, count: 1, amount: 20_000 }]);
    assert.equal((await f.api<ApiError>('GET', '/api/v1/topups/nope')).body.error.code, 'TOPUP_NOT_FOUND');
    const reused = await f.api<ApiError>(
      'POST',
      '/api/v1/topups',
      { amount: 5, method: 'cash' },
      { 'Idempotency-Key': key },
    );
    assert.equal(reused.status, 409);
    assert.equal(reused.body.error.code, 'TOPUP_KEY_REUSED');
  });

  it('a top-up the card would refuse (over its maximum balance) is refused before the bank is asked, and the next top-up and sync still work', async () => {
    await start();
    const before = await onCard(f);
    const over = await f.api<ApiError & { error: { hint: string } }>('POST', '/api/v1/topups', {
      amount: 9_600_000,
      method: 'cash',
    });
    assert.equal(over.status, 422, JSON.stringify(over.body));
    assert.equal(over.body.error.code, 'TOPUP_NOT_POSSIBLE');
    assert.match(over.body.error.hint, /at most/);
    assert.deepEqual(bankTopups(f), [], 'the bank was not asked: no load number is held for it');
    const next = await f.api<TopupSnapshot>('POST', '/api/v1/topups', { amount: 1_000, method: 'cash' });
    assert.equal(next.status, 201, JSON.stringify(next.body));
    assert.equal(next.body.balance, before.balance + 1_000);
    const sync = await f.api<TopupSnapshot>('POST', '/api/v1/topups', { amount: 0 });
    assert.equal(sync.status, 201, JSON.stringify(sync.body));
  });

  it("a sync (amount 0) settles the card's records first and resets its offline totals to the unsettled remainder only", async () => {
    await start();
    await pay(f, 700);
    await pay(f, 300);
    // A payment at another counter that this one passes over: the bank has not seen it.
    const c = new CardClient({ extendedLength: true, transmit: async (a) => f.applet.transmit(a) });
    await c.select();
    await c.signTxn({
      amount: 55,
      currency: 156,
      merchantId: 'M-OTHER',
      terminalId: 'T-OTHER',
      time: Math.floor(Date.now() / 1000),
      hostNonce: Uint8Array.from(randomBytes(16)),
    });
    const before = await onCard(f);
    assert.equal(before.offlineCount, 3);
    const r = await f.api<TopupSnapshot>('POST', '/api/v1/topups', { amount: 0 });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.method, 'sync');
    assert.equal(r.body.settledCounter, 2, "the bank holds the card's chain up to counter 2");
    const after = await onCard(f);
    assert.equal(after.offlineCount, 1, 'the other counter’s payment is still counted');
    assert.equal(after.offlineAmount, 55);
    assert.equal(after.balance, before.balance, 'a sync moves no money');
    assert.deepEqual((await f.api<{ cash: unknown[] }>('GET', '/api/v1/topups')).body.cash, []);
  });

  it('bank answer dropped after the bank committed: asked again with the same key, loaded once', async () => {
    await start();
    const before = await onCard(f);
    f.bank.setFaults({ dropAfterCommitRate: 1 });
    const r = await f.api<TopupSnapshot>('POST', '/api/v1/topups', { amount: 3_000, method: 'account' });
    f.bank.setFaults({ dropAfterCommitRate: 0 });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.state, 'loaded');
    assert.equal((await onCard(f)).balance, before.balance + 3_000);
    assert.deepEqual(bankTopups(f), [{ loadSeq: before.loadCounter + 1, amount: 3_000 }]);
  });

  it('every answer lost, then the daemon killed: the same Idempotency-Key after the restart gets the same token, loaded once', async () => {
    await start();
    const before = await onCard(f);
    const bank = f.daemon.bank;
    const real = bank.topup.bind(bank);
    // The bank commits, and every answer (first and retries) is lost on the way back.
    bank.topup = async (...a: Parameters<typeof real>) => {
      await real(...a);
      throw new BankError('BANK_UNREACHABLE', 'no answer in time', 'retry', 'unknown');
    };
    const body = { amount: 6_000, method: 'cash', reader: 'fixture reader' };
    const r = await f.api<ApiError>('POST', '/api/v1/topups', body, { 'Idempotency-Key': 'lost-answer' });
    assert.equal(r.status, 503, JSON.stringify(r.body));
    assert.equal(r.body.error.code, 'TOPUP_BANK_UNCERTAIN');
    assert.equal(f.daemon.store.topups.byRequestKey('lost-answer')!.state, 'requested');
    assert.equal(bankTopups(f).length, 1, 'the bank holds a token');
    await f.restart();
    const again = await f.api<TopupSnapshot>('POST', '/api/v1/topups', body, { 'Idempotency-Key': 'lost-answer' });
    assert.equal(again.status, 201, JSON.stringify(again.body));
    assert.equal(again.body.state, 'loaded');
    assert.equal((await onCard(f)).balance, before.balance + 6_000);
    assert.deepEqual(bankTopups(f), [{ loadSeq: before.loadCounter + 1, amount: 6_000 }], 'authorised once');
  });

  it('a new top-up while an earlier one of the card waits on the bank: the earlier one is finished first, with its own key', async () => {
    await start();
    const before = await onCard(f);
    const bank = f.daemon.bank;
    const real = bank.topup.bind(bank);
    bank.topup = async (...a: Parameters<typeof real>) => {
      await real(...a);
      throw new BankError('BANK_UNREACHABLE', 'no answer in time', 'retry', 'unknown');
    };
    const first = await f.api<ApiError>('POST', '/api/v1/topups', { amount: 1_000, method: 'cash' });
    assert.equal(first.status, 503);
    bank.topup = real;
    const second = await f.api<TopupSnapshot>('POST', '/api/v1/topups', { amount: 2_000, method: 'cash' });
    assert.equal(second.status, 201, JSON.stringify(second.body));
    assert.equal(second.body.loadSeq, before.loadCounter + 2);
    assert.equal((await onCard(f)).balance, before.balance + 3_000);
    assert.deepEqual(bankTopups(f), [
      { loadSeq: before.loadCounter + 1, amount: 1_000 },
      { loadSeq: before.loadCounter + 2, amount: 2_000 },
    ]);
    assert.ok(f.daemon.store.topups.recent(5).every((t) => t.state === 'loaded'));
  });

  it('card pulled before LOAD: the stored token is loaded at the next tap, once', async () => {
    await start();
    const before = await onCard(f);
    f.daemon.cardServices!.topups.faults.afterTokenStored = () => f.reader.remove();
    const key = 'pull-before';
    const r = await f.api<ApiError & { error: { topupId?: string } }>(
      'POST',
      '/api/v1/topups',
      { amount: 1_500, method: 'cash', reader: 'fixture reader' },
      { 'Idempotency-Key': key },
    );
    delete f.daemon.cardServices!.topups.faults.afterTokenStored;
    assert.equal(r.status, 409, JSON.stringify(r.body));
    assert.equal(r.body.error.code, 'TOPUP_CARD_REMOVED');
    const row = f.daemon.store.topups.byRequestKey(key)!;
    assert.equal(row.state, 'token_stored');
    assert.equal((await onCard(f)).balance, before.balance, 'nothing loaded yet');
    f.reader.insert(f.applet); // the next tap: the insertion's card session loads it
    await until(() => f.daemon.store.topups.get(row.topupId)!.state === 'loaded', 'the stored top-up loaded');
    assert.equal((await onCard(f)).balance, before.balance + 1_500);
    const again = await f.api<TopupSnapshot>(
      'POST',
      '/api/v1/topups',
      { amount: 1_500, method: 'cash', reader: 'fixture reader' },
      { 'Idempotency-Key': key },
    );
    assert.equal(again.body.state, 'loaded');
    assert.equal((await onCard(f)).balance, before.balance + 1_500, 'the re-sent request loads nothing more');
    assert.equal(bankTopups(f).length, 1);
  });

  it("a stored token is loaded at the opening of a sale's card session, and the sale sees the new balance", async () => {
    f = await DaemonFixture.start({ balance: 1_000, config: { cardServices: { autoSyncAt: null } } });
    f.daemon.cardServices!.topups.faults.afterTokenStored = () => f.reader.remove();
    const r = await f.api<ApiError>('POST', '/api/v1/topups', {
      amount: 5_000,
      method: 'cash',
      reader: 'fixture reader',
    });
    delete f.daemon.cardServices!.topups.faults.afterTokenStored;
    assert.equal(r.body.error.code, 'TOPUP_CARD_REMOVED');
    // A sale of more than the card held before the top-up, waiting for the card.
    const sale = await f.api<SaleSnapshot>('POST', '/api/v1/sales', { amount: 3_000 });
    assert.equal(sale.status, 201, JSON.stringify(sale.body));
    f.reader.insert(f.applet);
    const done = await f.waitForSale(sale.body.saleId);
    assert.equal(done.state, 'done', JSON.stringify(done));
    assert.equal(f.daemon.store.topups.recent(1)[0]!.state, 'loaded');
    assert.equal((await onCard(f)).balance, 1_000 + 5_000 - 3_000);
  });

  it('card pulled during LOAD after the card applied it: found applied by its load counter, never loaded twice', async () => {
    await start();
    const before = await onCard(f);
    const transmit = f.applet.transmit.bind(f.applet);
    let pulled = false;
    f.applet.transmit = (apdu: Uint8Array) => {
      const out = transmit(apdu);
      if (!pulled && isLoad(apdu)) {
        pulled = true;
        setImmediate(() => f.reader.remove());
      }
      return out;
    };
    const r = await f.api<ApiError>('POST', '/api/v1/topups', { amount: 2_500, method: 'cash' });
    assert.ok(pulled);
    assert.equal(r.status, 409, JSON.stringify(r.body));
    assert.equal(r.body.error.code, 'TOPUP_CARD_REMOVED');
    assert.equal((await onCard(f)).balance, before.balance + 2_500, 'the card did apply it');
    const [row] = f.daemon.store.topups.recent(1);
    assert.equal(row!.state, 'token_stored');
    f.reader.insert(f.applet);
    await until(() => f.daemon.store.topups.get(row!.topupId)!.state === 'loaded', 'the top-up confirmed');
    const done = f.daemon.store.topups.get(row!.topupId)!;
    assert.equal(done.errorCode, 'TOPUP_ALREADY_APPLIED');
    assert.equal(done.balanceAfter, before.balance + 2_500);
    assert.equal((await onCard(f)).balance, before.balance + 2_500, 'once');
    assert.equal(bankTopups(f).length, 1);
  });

  it('daemon killed between the stored token and LOAD: after a restart the next card session loads it, once', async () => {
    await start();
    const before = await onCard(f);
    f.daemon.cardServices!.topups.faults.afterTokenStored = () => {
      throw new Error('simulated process death before LOAD');
    };
    const r = await f.api('POST', '/api/v1/topups', { amount: 4_000, method: 'cash' });
    assert.equal(r.status, 500);
    const [row] = f.daemon.store.topups.recent(1);
    assert.equal(row!.state, 'token_stored');
    await f.restart();
    const seen = await card(f);
    assert.equal(seen.balance, before.balance + 4_000);
    assert.equal(f.daemon.store.topups.get(row!.topupId)!.state, 'loaded');
    await card(f);
    assert.equal((await onCard(f)).balance, before.balance + 4_000, 'once');
    assert.equal((await onCard(f)).loadCounter, before.loadCounter + 1);
    assert.deepEqual(bankTopups(f), [{ loadSeq: before.loadCounter + 1, amount: 4_000 }]);
    const day = await f.api<{ cash: { amount: number }[] }>('GET', '/api/v1/topups');
    assert.equal(day.body.cash[0]!.amount, 4_000);
  });

  it('offline: refused with TOPUP_OFFLINE, nothing stored, nothing loaded', async () => {
    await start();
    const before = await onCard(f);
    f.bank.setFaults({ down: true });
    const r = await f.api<ApiError>('POST', '/api/v1/topups', { amount: 1_000, method: 'cash' });
    f.bank.setFaults({ down: false });
    assert.equal(r.status, 503, JSON.stringify(r.body));
    assert.equal(r.body.error.code, 'TOPUP_OFFLINE');
    assert.deepEqual(f.daemon.store.topups.recent(10), []);
    assert.equal((await onCard(f)).balance, before.balance);
    assert.deepEqual(bankTopups(f), []);
  });

  it('malformed input: 400 with a typed code, nothing stored', async () => {
    await start();
    const bad: [unknown, string][] = [
      [{ amount: -1, method: 'cash' }, 'REQUEST_INVALID'],
      [{ amount: 1.5, method: 'cash' }, 'REQUEST_INVALID'],
      [{ amount: '100', method: 'cash' }, 'REQUEST_INVALID'],
      [{ amount: 100, method: 'card' }, 'REQUEST_INVALID'],
      [{ amount: 100, method: 'cash', extra: 1 }, 'REQUEST_INVALID'],
      [{ method: 'cash' }, 'REQUEST_INVALID'],
      [{ amount: 100 }, 'TOPUP_INVALID'],
    ];
    for (const [body, code] of bad) {
      const r = await f.api<ApiError>('POST', '/api/v1/topups', body);
      assert.equal(r.status, 400, `${JSON.stringify(body)}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error.code, code, JSON.stringify(body));
    }
    const day = await f.api<ApiError>('GET', '/api/v1/topups?date=2026-13-45');
    assert.equal(day.status, 400);
    assert.deepEqual(f.daemon.store.topups.recent(10), []);
  });

  it('automatic sync: a card near its offline limits is synced after the sale, never during it', async () => {
    await start({ cardServices: { autoSyncAt: 0.004 } }); // 2 of the card's 500 offline payments
    const events: string[] = [];
    const transmit = f.applet.transmit.bind(f.applet);
    f.applet.transmit = (apdu: Uint8Array) => {
      if (isLoad(apdu)) events.push('LOAD');
      return transmit(apdu);
    };
    f.daemon.engine.on('sale', (s) => {
      if (s.state === 'done') events.push('sale done');
    });
    await pay(f, 100);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(events, ['sale done'], 'one payment: below the threshold');
    await pay(f, 200);
    await until(() => events.includes('LOAD'), 'the automatic sync');
    assert.deepEqual(events, ['sale done', 'sale done', 'LOAD'], 'the sync came after the sale');
    await until(() => f.daemon.store.topups.recent(1)[0]?.state === 'loaded', 'the sync loaded');
    const [t] = f.daemon.store.topups.recent(1);
    assert.equal(t!.method, 'sync');
    assert.equal(t!.amount, 0);
    const info = await onCard(f);
    assert.equal(info.offlineCount, 0, 'settled first, then reset');
    await pay(f, 50);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(events.filter((e) => e === 'LOAD').length, 1, 'below the threshold again: no sync');
  });

  it('the CLI: cardpost card topup, card sync and card topups through the daemon; an interrupted one names its key', async () => {
    await start();
    const before = await onCard(f);
    const cli = async (args: string[]) => {
      const out: string[] = [];
      const err: string[] = [];
      const code = await runCli(
        [...args, '--data-dir', join(f.dir, 'data')],
        { out: (l) => out.push(l), setExitCode: () => {} },
        (l) => err.push(l),
      );
      return { code, out: out.join('\n'), err: err.join('\n') };
    };
    const t = await cli(['card', 'topup', '--amount', '12.50', '--method', 'cash']);
    assert.equal(t.code, 0, t.err);
    assert.match(t.out, /topped up .*12\.50 \(cash\)/);
    const s = await cli(['card', 'sync', '--reader', 'fixture reader', '--json']);
    assert.equal(s.code, 0, s.err);
    assert.equal((JSON.parse(s.out) as TopupSnapshot).method, 'sync');
    assert.equal((await onCard(f)).balance, before.balance + 1_250);
    const day = await cli(['card', 'topups']);
    assert.match(day.out, /cash taken: .*12\.50 in 1 top-up/);
    f.daemon.cardServices!.topups.faults.afterTokenStored = () => f.reader.remove();
    const cut = await cli(['card', 'topup', '--amount', '1', '--key', 'cli-key-1']);
    assert.notEqual(cut.code, 0);
    assert.match(cut.err, /TOPUP_CARD_REMOVED/);
    assert.match(cut.err, /--key cli-key-1/);
    const bad = await cli(['card', 'topup', '--amount', 'ten']);
    assert.notEqual(bad.code, 0);
  });
});
