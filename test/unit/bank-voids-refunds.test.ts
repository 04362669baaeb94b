import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { toHex } from '../../protocol/bytes.js';
import { CardClient, CardStatusError, type SignTxnRequest } from '../../protocol/commands/index.js';
import { decodeTxnRecord, type SignedTxnRecord } from '../../protocol/record/index.js';
import { decodeRefundAnswer, type BatchResponse } from '../../protocol/bank/index.js';
import { SimBank } from '../../device-sim/bank/index.js';
import { BankTerminalClient } from '../../device-sim/bank/terminal-client.js';
import type { CardApplet } from '../../device-sim/card/applet.js';
import { TestIssuer, issuedCard, NOW } from '../support/issuer.js';

/**
 * Voids and refunds at the bank (docs/bank-api.md §4.4, §15), with the real card applet signing the
 * sales and reversals and loading the refund tokens: money goes back once, never more than was paid.
 */
describe('simulated bank: voids and refunds never create money', function () {
  this.timeout(30_000);
  let dir: string;
  let bank: SimBank;
  let client: BankTerminalClient;
  let other: BankTerminalClient;
  let applet: CardApplet;
  let card: CardClient;
  let cardHex: string;
  const issuer = new TestIssuer();

  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'cardpost-bank-void-'));
    bank = new SimBank({
      dbPath: path.join(dir, 'bank.sqlite'),
      issuerCertificate: issuer.certificate,
      authority: { key: issuer.authorityKey, certificate: issuer.authority },
    });
    const { url } = await bank.listen({ host: '127.0.0.1', port: 0 });
    client = new BankTerminalClient({ baseUrl: url, ...issuer.terminal('T-01') });
    other = new BankTerminalClient({ baseUrl: url, ...issuer.terminal('T-02') });
    applet = await issuedCard(issuer, '1234', 100_000);
    applet.powerOn();
    card = new CardClient({ extendedLength: true, transmit: async (a) => applet.transmit(a) });
    await card.select();
    cardHex = toHex((await card.getInfo()).cardId!);
  });
  afterEach(async () => {
    await bank.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const sale = (amount: number, o: Partial<SignTxnRequest> = {}): SignTxnRequest => ({
    amount,
    currency: 156,
    merchantId: 'M-canteen',
    terminalId: 'T-01',
    time: NOW(),
    hostNonce: Uint8Array.from(randomBytes(16)),
    ...o,
  });
  const pay = async (amount: number) => decodeTxnRecord(await card.signTxn(sale(amount)));
  const voidIt = async (r: SignedTxnRecord) =>
    decodeTxnRecord(
      await card.voidTxn({
        counter: r.counter,
        amount: r.amount,
        merchantId: r.merchantId,
        terminalId: r.terminalId,
        time: NOW(),
        hostNonce: Uint8Array.from(randomBytes(16)),
      }),
    );
  const settle = async (records: SignedTxnRecord[], c = client): Promise<BatchResponse> => {
    const cert = (await card.getInfo()).certificate!;
    const res = await c.submitBatch(
      randomBytes(16).toString('hex'),
      records.map((r) => r.envelope),
      [cert],
    );
    assert.equal(res.status, 200, res.text);
    return res.json<BatchResponse>();
  };
  const verdicts = (b: BatchResponse) => b.results.map((r) => (r.verdict === 'rejected' ? r.reason : r.verdict));
  const recon = async () => {
    const day = new Date().toISOString().slice(0, 10);
    const r = await client.request('GET', `/v1/reconciliation?date=${day}`);
    assert.equal(r.status, 200, r.text);
    return r.json<{
      totals: { amount: number }[];
      reversals: { count: number; amount: number }[];
      refunds: { count: number; amount: number }[];
    }>();
  };
  const refund = (refundId: string, recordId: string, amount: number, loadSeq: number, c = client) =>
    c.request('POST', '/v1/refunds', { idempotencyKey: refundId, body: { refundId, recordId, amount, loadSeq } });
  const loadSeq = async () => (await card.getInfo()).loadCounter + 1;
  const load = async (res: { json<T>(): T }) => {
    const a = decodeRefundAnswer(res.json());
    return card.load({ token: a.token.envelope, authority: a.authority.envelope });
  };

  it('settles a void with its sale in one batch, in either order, once: the bank nets them to zero', async () => {
    const s = await pay(1200);
    const v = await voidIt(s);
    const b = await settle([v, s]); // reversal first in the batch: still settled with its sale
    assert.deepEqual(verdicts(b), ['accepted', 'accepted']);
    assert.deepEqual(b.accepted, { count: 2, amount: { 156: 1200 } });
    assert.deepEqual(b.reversed, { count: 1, amount: { 156: 1200 } });
    const again = await settle([s, v]);
    assert.deepEqual(verdicts(again), ['duplicate', 'duplicate'], 'accepted once');
    const r = await recon();
    assert.equal(r.totals[0]!.amount - r.reversals[0]!.amount, 0, 'sales less voids: nothing paid');
    // and a voided sale cannot be refunded
    const no = await refund('r-void', `${cardHex}:${s.counter}`, 100, await loadSeq());
    assert.equal(`${no.status} ${no.json().error.code}`, '409 REFUND_SALE_VOIDED');
  });

  it('settles a void after its sale, and rejects a void whose sale it has not settled (REVERSAL_ORPHAN), typed', async () => {
    const s1 = await pay(300);
    assert.deepEqual(verdicts(await settle([s1])), ['accepted']);
    const s2 = await pay(500);
    const v2 = await voidIt(s2);
    const orphan = await settle([v2]);
    assert.deepEqual(verdicts(orphan), ['REVERSAL_ORPHAN']);
    assert.match(orphan.results[0]!.detail!, /not settled/);
    assert.deepEqual(verdicts(await settle([s2])), ['accepted']);
    assert.deepEqual(verdicts(await settle([v2])), ['accepted'], 'with its sale in the ledger, the void settles');
    // a void settled by another terminal than the sale's is refused by the record's own terminal id
    assert.deepEqual(verdicts(await settle([v2], other)), ['WRONG_TERMINAL']);
  });

  it('refunds a settled sale in parts that add up to it, never more; idempotent on the refund id', async () => {
    const s = await pay(1000);
    await pay(10); // the bank holds the next record: the sale cannot be voided any more
    const next = await pay(20);
    await settle([s, ...(await journalAfter(s.counter))]);
    const id = `${cardHex}:${s.counter}`;
    const before = (await card.getInfo()).balance;

    const r1 = await refund('refund-a', id, 400, await loadSeq());
    assert.equal(r1.status, 200, r1.text);
    const a1 = decodeRefundAnswer(r1.json(), { refundId: 'refund-a', recordId: id });
    assert.equal(a1.refundable, 600);
    assert.equal(a1.token.refundOf, undefined, 'the bank knows the next record: no card check needed');
    const replay = await refund('refund-a', id, 400, a1.loadSeq);
    assert.deepEqual(replay.bytes, r1.bytes, 'the same request: the same answer, byte for byte');
    await load(r1);
    const conflict = await client.request('POST', '/v1/refunds', {
      idempotencyKey: 'another-key',
      body: { refundId: 'refund-a', recordId: id, amount: 500, loadSeq: a1.loadSeq },
    });
    assert.equal(`${conflict.status} ${conflict.json().error.code}`, '409 REFUND_CONFLICT', 'a refund id reused');

    const over = await refund('refund-b', id, 601, await loadSeq());
    assert.equal(`${over.status} ${over.json().error.code}`, '409 REFUND_OVER_REMAINING');
    assert.match(over.json().error.message, /600/);
    const r2 = await refund('refund-b', id, 600, await loadSeq());
    assert.equal(r2.status, 200, r2.text);
    assert.equal(decodeRefundAnswer(r2.json()).refundable, 0);
    await load(r2);
    const more = await refund('refund-c', id, 1, await loadSeq());
    assert.equal(`${more.status} ${more.json().error.code}`, '409 REFUND_OVER_REMAINING');

    assert.equal((await card.getInfo()).balance, before + 1000, 'the card got the sale back, once');
    const r = await recon();
    assert.deepEqual(
      r.refunds.map((x) => [x.count, x.amount]),
      [[2, 1000]],
    );
    assert.ok(next.counter > s.counter);
  });

  it('refuses a refund of a sale not settled, of another terminal, of a reversal, and a load a top-up holds', async () => {
    const s = await pay(800);
    const id = `${cardHex}:${s.counter}`;
    const unsettled = await refund('r1', id, 100, await loadSeq());
    assert.equal(`${unsettled.status} ${unsettled.json().error.code}`, '404 RECORD_NOT_FOUND');
    await settle([s]);
    const foreign = await refund('r1', id, 100, await loadSeq(), other);
    assert.equal(`${foreign.status} ${foreign.json().error.code}`, '404 RECORD_NOT_FOUND');
    const top = await client.topup('t-1', { cardId: cardHex, loadSeq: await loadSeq(), amount: 5, currency: 156 });
    assert.equal(top.status, 200);
    const clash = await refund('r1', id, 100, await loadSeq());
    assert.equal(`${clash.status} ${clash.json().error.code}`, '409 TOPUP_CONFLICT');
    const bad = await client.request('POST', '/v1/refunds', {
      idempotencyKey: 'r-bad',
      body: { refundId: 'r 1', recordId: id, amount: 0, loadSeq: 1 },
    });
    assert.equal(`${bad.status} ${bad.json().error.code}`, '400 BODY_SCHEMA');
    // a top-up cannot take the load a refund holds, even for the same amount
    const ls = (await loadSeq()) + 1;
    const r = await refund('r2', id, 100, ls);
    assert.equal(r.status, 200, r.text);
    const steal = await client.topup('t-2', { cardId: cardHex, loadSeq: ls, amount: 100, currency: 156 });
    assert.equal(`${steal.status} ${steal.json().error.code}`, '409 TOPUP_CONFLICT');
  });

  it('a refund the card could still void carries refundOf: voided first, the card refuses it and the bank cancels it', async () => {
    const s = await pay(700);
    await settle([s]);
    const id = `${cardHex}:${s.counter}`;
    const ls = await loadSeq();
    const res = await refund('r-race', id, 700, ls);
    assert.equal(res.status, 200, res.text);
    assert.equal(decodeRefundAnswer(res.json()).token.refundOf, s.counter, 'the bank cannot tell: the card checks');
    // the card is still at the counter and the sale is voided before the refund is loaded
    const v = await voidIt(s);
    await assert.rejects(
      load(res),
      (e: unknown) => e instanceof CardStatusError && e.statusName === 'REFUND_OF_VOIDED',
    );
    const b = await settle([v]);
    assert.deepEqual(verdicts(b), ['accepted']);
    assert.match(b.results[0]!.detail!, /r-race cancelled/);
    const r = await recon();
    assert.deepEqual(r.refunds, [], 'the cancelled refund is not counted');
    assert.equal(r.totals[0]!.amount - r.reversals[0]!.amount, 0);
    // its load is free again for a top-up
    const top = await client.topup('t-after', { cardId: cardHex, loadSeq: ls, amount: 5, currency: 156 });
    assert.equal(top.status, 200, top.text);
    // asked again under a new key, the refund id answers it is cancelled (the same key replays the first answer,
    // whose token the card refuses)
    const again = await client.request('POST', '/v1/refunds', {
      idempotencyKey: 'r-race-2',
      body: { refundId: 'r-race', recordId: id, amount: 700, loadSeq: ls },
    });
    assert.equal(`${again.status} ${again.json().error.code}`, '409 REFUND_CANCELLED');
  });

  it('a refund loaded first ends the void window: the card refuses the void, nothing is given back twice', async () => {
    const s = await pay(900);
    await settle([s]);
    const res = await refund('r-first', `${cardHex}:${s.counter}`, 900, await loadSeq());
    assert.equal(res.status, 200, res.text);
    const before = (await card.getInfo()).balance;
    await load(res);
    await assert.rejects(
      voidIt(s),
      (e: unknown) => e instanceof CardStatusError && e.statusName === 'VOID_NOT_ALLOWED',
    );
    assert.equal((await card.getInfo()).balance, before + 900);
  });

  async function journalAfter(counter: number): Promise<SignedTxnRecord[]> {
    return (await card.readJournalFrom(counter + 1)).records.map(decodeTxnRecord);
  }
});
