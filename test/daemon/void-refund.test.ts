import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { decodeCommandApdu } from '../../protocol/apdu/index.js';
import { CardClient, CMD } from '../../protocol/commands/index.js';
import { runCli } from '../../host/cli/main.js';
import { DaemonFixture } from '../support/daemon-fixture.js';
import { until } from '../support/settlement-helpers.js';
import type { SaleSnapshot } from '../../host/sale/sale-types.js';
import type { VoidSnapshot } from '../../host/card-services/voids.js';
import type { RefundSnapshot } from '../../host/card-services/refund-service.js';

type ApiError = { error: { code: string; message: string } };

/** The simulated bank's ledger, read beside the running bank. */
function bank<T>(f: DaemonFixture, sql: string, ...args: unknown[]): T[] {
  const db = new Database(join(f.dir, 'bank.sqlite'), { readonly: true, fileMustExist: true });
  try {
    return db.prepare(sql).all(...args) as T[];
  } finally {
    db.close();
  }
}
const bankNet = (f: DaemonFixture) =>
  bank<{ n: number }>(
    f,
    `SELECT COALESCE(SUM(CASE WHEN reverses IS NULL THEN amount ELSE -amount END), 0)
       - COALESCE((SELECT SUM(amount) FROM refunds WHERE state = 'authorised'), 0) AS n FROM settled_records`,
  )[0]!.n;

async function onCard(f: DaemonFixture) {
  const c = new CardClient({ extendedLength: true, transmit: async (a) => f.applet.transmit(a) });
  await c.select();
  return c.getInfo();
}

async function pay(f: DaemonFixture, amount: number): Promise<SaleSnapshot> {
  const r = await f.api<SaleSnapshot>('POST', '/api/v1/sales', { amount });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const s = await f.waitForSale(r.body.saleId);
  assert.equal(s.state, 'done', JSON.stringify(s));
  return s;
}

const settled = (f: DaemonFixture) => () => {
  const c = f.daemon.store.statusCounts();
  return c.pending.count === 0 && c.sending.count === 0;
};
const isCmd = (cmd: number) => (apdu: Uint8Array) => {
  try {
    return decodeCommandApdu(apdu).data?.[0] === cmd;
  } catch {
    return false;
  }
};

describe('voids and refunds through the daemon (issue 15)', function () {
  this.timeout(60_000);
  let f: DaemonFixture;
  beforeEach(async () => {
    f = await DaemonFixture.start({ config: { cardServices: { autoSyncAt: null } } });
  });
  afterEach(async () => {
    await f?.stop();
  });

  it('a void while the card is at the counter: the balance is back, the pair settles and the bank nets it to zero', async () => {
    const before = await onCard(f);
    f.bank.setFaults({ down: true }); // offline: the void needs no bank
    const sale = await pay(f, 1_250);
    assert.equal((await onCard(f)).balance, before.balance - 1_250);
    const v = await f.api<VoidSnapshot>('POST', `/api/v1/sales/${sale.saleId}/void`, {});
    assert.equal(v.status, 200, JSON.stringify(v.body));
    assert.equal(v.body.state, 'voided');
    assert.ok(v.body.reversalId, 'the reversal is stored');
    const card = await onCard(f);
    assert.equal(card.balance, before.balance, 'the balance is back');
    assert.equal(card.offlineCount, before.offlineCount, 'the sale no longer counts offline');
    const again = await f.api<VoidSnapshot>('POST', `/api/v1/sales/${sale.saleId}/void`, {});
    assert.equal(again.body.voidId, v.body.voidId, 'idempotent');
    assert.equal((await onCard(f)).counter, card.counter, 'nothing signed twice');
    f.bank.setFaults({ down: false });
    f.daemon.worker.poke();
    await until(settled(f), 'the sale and its void settled');
    assert.equal(bankNet(f), 0, 'the bank nets the pair to zero');
    const refund = await f.api<ApiError>('POST', '/api/v1/refunds', { saleId: sale.saleId });
    assert.equal(refund.body.error.code, 'REFUND_SALE_VOIDED');
    const day = await f.api<{ voided: { amount: number }[] }>('GET', '/api/v1/refunds');
    assert.deepEqual(day.body.voided, [{ currency: 156, count: 1, amount: 1_250 }]);
  });

  it('a void refused by the card (it paid since) is final and says refund instead; an unknown sale is 404', async () => {
    f.bank.setFaults({ down: true });
    const first = await pay(f, 300);
    await pay(f, 200);
    const v = await f.api<ApiError>('POST', `/api/v1/sales/${first.saleId}/void`, {});
    assert.equal(v.status, 409, JSON.stringify(v.body));
    assert.equal(v.body.error.code, 'VOID_TOO_LATE');
    const unknown = await f.api<ApiError>('POST', '/api/v1/sales/nope/void', {});
    assert.equal(`${unknown.status} ${unknown.body.error.code}`, '404 VOID_SALE_UNKNOWN');
    const bad = await f.api<ApiError>('POST', `/api/v1/sales/${first.saleId}/void`, { reader: 5 });
    assert.equal(bad.status, 400);
  });

  it('a refund online: partial refunds credit the card once each, never above the sale', async () => {
    const sale = await pay(f, 2_000);
    await until(settled(f), 'the sale settled');
    const before = await onCard(f);
    const r1 = await f.api<RefundSnapshot>('POST', '/api/v1/refunds', { saleId: sale.saleId, amount: 500 });
    assert.equal(r1.status, 201, JSON.stringify(r1.body));
    assert.equal(r1.body.state, 'credited', JSON.stringify(r1.body));
    assert.equal((await onCard(f)).balance, before.balance + 500);
    const over = await f.api<ApiError>('POST', '/api/v1/refunds', { saleId: sale.saleId, amount: 1_501 });
    assert.equal(`${over.status} ${over.body.error.code}`, '409 REFUND_OVER_REMAINING');
    const rest = await f.api<RefundSnapshot>(
      'POST',
      '/api/v1/refunds',
      { saleId: sale.saleId },
      { 'Idempotency-Key': 'rest-1' },
    );
    assert.equal(rest.body.amount, 1_500);
    assert.equal(rest.body.state, 'credited');
    const replay = await f.api<RefundSnapshot>(
      'POST',
      '/api/v1/refunds',
      { saleId: sale.saleId },
      { 'Idempotency-Key': 'rest-1' },
    );
    assert.equal(replay.body.refundId, rest.body.refundId, 'the same key, the same refund');
    assert.equal((await onCard(f)).balance, before.balance + 2_000, 'the whole sale back, once');
    assert.equal(bankNet(f), 0);
    const day = await f.api<{ credited: { amount: number }[]; refunds: RefundSnapshot[] }>('GET', '/api/v1/refunds');
    assert.deepEqual(day.body.credited, [{ currency: 156, count: 2, amount: 2_000 }]);
  });

  it('a refund while the bank is down is queued, and applied at the card’s next tap once the bank is back', async () => {
    const sale = await pay(f, 900);
    await until(settled(f), 'the sale settled');
    const before = await onCard(f);
    f.bank.setFaults({ down: true });
    await until(() => !f.daemon.worker.status().online, 'the counter sees the bank down');
    const r = await f.api<RefundSnapshot>('POST', '/api/v1/refunds', { saleId: sale.saleId, amount: 900 });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.state, 'queued');
    assert.equal((await onCard(f)).balance, before.balance, 'nothing yet');
    f.bank.setFaults({ down: false });
    f.daemon.worker.poke();
    await until(() => f.daemon.worker.status().online, 'the counter sees the bank again');
    f.reader.remove();
    f.reader.insert(f.applet); // the card's next contact
    await until(() => f.daemon.cardServices!.refunds.get(r.body.refundId)!.state === 'credited', 'credited');
    assert.equal((await onCard(f)).balance, before.balance + 900);
    assert.equal(bankNet(f), 0);
  });

  it('a refund queued while the bank is down, its card left in the reader, is credited when the bank is back (no tap)', async () => {
    const sale = await pay(f, 700);
    await until(settled(f), 'the sale settled');
    const before = await onCard(f);
    f.bank.setFaults({ down: true });
    await until(() => !f.daemon.worker.status().online, 'the counter sees the bank down');
    const r = await f.api<RefundSnapshot>('POST', '/api/v1/refunds', { saleId: sale.saleId, amount: 700 });
    assert.equal(r.body.state, 'queued');
    assert.ok(f.reader.cardPresent, 'the card stays in the reader');
    f.bank.setFaults({ down: false });
    f.daemon.worker.poke();
    await until(() => f.daemon.cardServices!.refunds.get(r.body.refundId)!.state === 'credited', 'credited');
    assert.equal((await onCard(f)).balance, before.balance + 700);
    assert.equal(bankNet(f), 0);
  });

  it('a refund interrupted at every point (bank answer lost, card pulled before or after LOAD) is neither lost nor doubled', async () => {
    const sale = await pay(f, 3_000);
    await until(settled(f), 'the sale settled');
    const before = await onCard(f);
    // 1. the bank's answer lost after it committed: asked again under the same refund id, one token
    f.bank.setFaults({ dropAfterCommitRate: 1 });
    const a = await f.api<RefundSnapshot>('POST', '/api/v1/refunds', { saleId: sale.saleId, amount: 1_000 });
    f.bank.setFaults({ dropAfterCommitRate: 0 });
    assert.equal(a.status, 201, JSON.stringify(a.body));
    // asked again with the same refund id and key: the bank's stored answer, one token, one load
    assert.equal(a.body.state, 'credited', JSON.stringify(a.body));
    assert.equal(bank(f, 'SELECT * FROM refunds').length, 1);
    // 2. the card pulled after the token is stored, before LOAD
    f.daemon.cardServices!.topups.faults.afterTokenStored = () => f.reader.remove();
    const b = await f.api<RefundSnapshot>('POST', '/api/v1/refunds', { saleId: sale.saleId, amount: 1_000 });
    delete f.daemon.cardServices!.topups.faults.afterTokenStored;
    assert.equal(b.body.state, 'authorised', JSON.stringify(b.body));
    f.reader.insert(f.applet);
    await until(() => f.daemon.cardServices!.refunds.get(b.body.refundId)!.state === 'credited', 'b credited');
    // 3. the card pulled right after it applied LOAD (its answer lost)
    const transmit = f.applet.transmit.bind(f.applet);
    let pulled = false;
    f.applet.transmit = (apdu: Uint8Array) => {
      const out = transmit(apdu);
      if (!pulled && isCmd(CMD.LOAD)(apdu)) {
        pulled = true;
        setImmediate(() => f.reader.remove());
      }
      return out;
    };
    const c = await f.api<RefundSnapshot>('POST', '/api/v1/refunds', { saleId: sale.saleId, amount: 1_000 });
    assert.ok(pulled);
    assert.equal(c.body.state, 'authorised', JSON.stringify(c.body));
    f.reader.insert(f.applet);
    await until(() => f.daemon.cardServices!.refunds.get(c.body.refundId)!.state === 'credited', 'c confirmed');
    assert.equal((await onCard(f)).balance, before.balance + 3_000, 'each refund once');
    const d = await f.api<ApiError>('POST', '/api/v1/refunds', { saleId: sale.saleId, amount: 1 });
    assert.equal(d.body.error.code, 'REFUND_OVER_REMAINING');
    assert.equal(bankNet(f), 0, 'the bank: sale less refunds is zero');
    assert.equal(bank(f, 'SELECT * FROM refunds').length, 3);
  });

  it('daemon killed between the refund token stored and LOAD: after a restart the next tap credits it, once', async () => {
    const sale = await pay(f, 1_100);
    await until(settled(f), 'the sale settled');
    const before = await onCard(f);
    f.daemon.cardServices!.topups.faults.afterTokenStored = () => {
      throw new Error('simulated process death before LOAD');
    };
    const r = await f.api('POST', '/api/v1/refunds', { saleId: sale.saleId, amount: 1_100 });
    assert.equal(r.status, 500);
    const [row] = f.daemon.store.refunds.ofSale(sale.saleId);
    await f.restart();
    f.reader.remove();
    f.reader.insert(f.applet);
    await until(() => f.daemon.cardServices!.refunds.get(row!.refundId)!.state === 'credited', 'credited');
    assert.equal((await onCard(f)).balance, before.balance + 1_100, 'once');
    const again = await f.api<ApiError>('POST', '/api/v1/refunds', { saleId: sale.saleId, amount: 1 });
    assert.equal(again.body.error.code, 'REFUND_OVER_REMAINING');
    assert.equal(bankNet(f), 0);
  });

  it('daemon killed after the void is stored, before VOID_TXN: the same void is asked after a restart, signed once', async () => {
    f.bank.setFaults({ down: true });
    const before = await onCard(f);
    const sale = await pay(f, 700);
    f.daemon.cardServices!.voids['o'].afterVoidStored = () => {
      throw new Error('simulated process death before VOID_TXN');
    };
    const r = await f.api('POST', `/api/v1/sales/${sale.saleId}/void`, {});
    assert.equal(r.status, 500);
    await f.restart();
    const v = await f.api<VoidSnapshot>('POST', `/api/v1/sales/${sale.saleId}/void`, {});
    assert.equal(v.body.state, 'voided', JSON.stringify(v.body));
    assert.equal((await onCard(f)).balance, before.balance);
  });

  it('daemon killed after the card signed the reversal (answer lost): recovered from the journal, never voided twice', async () => {
    f.bank.setFaults({ down: true });
    const before = await onCard(f);
    const sale = await pay(f, 800);
    const transmit = f.applet.transmit.bind(f.applet);
    f.applet.transmit = (apdu: Uint8Array) => {
      const out = transmit(apdu);
      if (isCmd(CMD.VOID_TXN)(apdu)) throw new Error('the answer is lost on the wire');
      return out;
    };
    const r = await f.api<ApiError>('POST', `/api/v1/sales/${sale.saleId}/void`, {});
    assert.notEqual(r.status, 200);
    f.applet.transmit = transmit;
    assert.equal((await onCard(f)).balance, before.balance, 'the card did give it back');
    await f.restart();
    if (!f.reader.cardPresent) f.reader.insert(f.applet);
    const v = await f.api<VoidSnapshot>('POST', `/api/v1/sales/${sale.saleId}/void`, {});
    assert.equal(v.body.state, 'voided', JSON.stringify(v.body));
    assert.equal((await onCard(f)).balance, before.balance, 'once');
    f.bank.setFaults({ down: false });
    f.daemon.worker.poke();
    await until(settled(f), 'settled');
    assert.equal(bankNet(f), 0);
  });

  it('the CLI: cardpost sale void, cardpost refund --sale --amount, cardpost refunds; a bad amount exits 2', async () => {
    const cli = async (...args: string[]) => {
      const out: string[] = [];
      const err: string[] = [];
      const code = await runCli(
        [...args, '--data-dir', join(f.dir, 'data')],
        { out: (l) => out.push(l), setExitCode: () => {} },
        (l) => err.push(l),
      );
      return { code, out: out.join('\n'), err: err.join('\n') };
    };
    f.bank.setFaults({ down: true });
    const a = await pay(f, 450);
    const v = await cli('sale', 'void', a.saleId);
    assert.equal(v.code, 0, v.err);
    assert.match(v.out, /voided: .*4\.50 back on card ••/);
    f.bank.setFaults({ down: false });
    const b = await pay(f, 1_000);
    await until(settled(f), 'settled');
    const r = await cli('refund', '--sale', b.saleId, '--amount', '2.50', '--reason', 'returned goods');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /refund .*2\.50 of sale .* given back to the card/);
    const bad = await cli('refund', '--sale', b.saleId, '--amount', 'ten');
    assert.equal(bad.code, 2, bad.err);
    const day = await cli('refunds');
    assert.equal(day.code, 0, day.err);
    assert.match(day.out, /voided: .*4\.50 in 1/);
    assert.match(day.out, /refunded: .*2\.50 in 1/);
  });
});
