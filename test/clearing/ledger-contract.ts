/**
 * The ClearingLedger contract: one suite, run against every backend (ledger-sqlite.test.ts,
 * ledger-pg.test.ts), so both settle a batch with the same verdicts, the same stored answer and the
 * same all-or-nothing transaction.
 */
import assert from 'node:assert/strict';
import type { ClearingLedger, LedgerTestHooks, SettleOutcome } from '../../host/clearing/ledger.js';
import { CardpostError } from '../../protocol/errors.js';
import { NOW, T1, WINDOW, ZERO, batch, cardOf, chain, record } from './ledger-fixtures.js';

/** Opens a ledger on fresh, empty storage. */
export type OpenLedger = (hooks?: LedgerTestHooks) => Promise<ClearingLedger>;

function settled(o: SettleOutcome): Extract<SettleOutcome, { kind: 'settled' }> {
  assert.equal(o.kind, 'settled');
  return o as Extract<SettleOutcome, { kind: 'settled' }>;
}

export function ledgerContract(open: OpenLedger): void {
  let ledger: ClearingLedger;
  const opened: ClearingLedger[] = [];
  const fresh = async (hooks?: LedgerTestHooks) => {
    const l = await open(hooks);
    opened.push(l);
    return l;
  };
  beforeEach(async () => {
    ledger = await fresh();
  });
  afterEach(async () => {
    for (const l of opened.splice(0)) await l.close();
  });

  describe('verdicts', () => {
    it('accepts new records, stores them with their answer, and counts them per currency', async () => {
      const a = cardOf('accept-a');
      const b = cardOf('accept-b');
      const recs = [...chain(a, 3), ...chain(b, 1, { amount: 250, currency: 840 })];
      const out = settled(await ledger.settleBatch(batch(recs)));
      assert.deepEqual(
        out.response.results.map((r) => [r.index, r.recordId, r.verdict]),
        [
          [0, `${a}:1`, 'accepted'],
          [1, `${a}:2`, 'accepted'],
          [2, `${a}:3`, 'accepted'],
          [3, `${b}:1`, 'accepted'],
        ],
      );
      assert.deepEqual(out.response.accepted, { count: 4, amount: { '156': 300, '840': 250 } });
      assert.equal(await ledger.settledCount(), 4);
      const row = await ledger.settledRecord(a, 2);
      assert.deepEqual(row?.hash, recs[1]!.hash);
      assert.equal(row?.batchId, out.response.batchId);
      assert.equal(await ledger.settledPrefix(a), 3);
      assert.equal((await ledger.storedAnswer(T1, out.response.batchId))?.answer, out.answer);
      const t = await ledger.totals(T1, NOW, NOW + 1);
      assert.deepEqual(t.sales, [
        { currency: 156, count: 3, amount: 300 },
        { currency: 840, count: 1, amount: 250 },
      ]);
      assert.deepEqual(t.reversals, []);
    });

    it('answers duplicate for a record settled by an earlier batch, and credits it once', async () => {
      const c = cardOf('dup');
      const [r1, r2] = chain(c, 2);
      const first = settled(await ledger.settleBatch(batch([r1!])));
      const second = settled(await ledger.settleBatch(batch([r1!, r2!])));
      assert.equal(second.response.results[0]!.verdict, 'duplicate');
      assert.match(second.response.results[0]!.detail!, new RegExp(`in batch ${first.response.batchId}`));
      assert.equal(second.response.results[1]!.verdict, 'accepted');
      assert.deepEqual(second.response.counts, { accepted: 1, duplicate: 1, rejected: 0 });
      assert.deepEqual(second.response.accepted.amount, { '156': 100 });
      assert.equal(await ledger.settledCount(), 2);
    });

    it("keeps the verifier's refusals at their index and settles the rest", async () => {
      const c = cardOf('refused');
      const [r1] = chain(c, 1);
      const out = settled(
        await ledger.settleBatch(
          batch([
            { index: 0, refused: { index: 0, recordId: null, verdict: 'rejected', reason: 'MALFORMED', detail: 'x' } },
            { index: 1, record: r1! },
          ]),
        ),
      );
      assert.deepEqual(out.response.results[0], {
        index: 0,
        recordId: null,
        verdict: 'rejected',
        reason: 'MALFORMED',
        detail: 'x',
      });
      assert.equal(out.response.results[1]!.verdict, 'accepted');
      assert.equal(await ledger.settledCount(), 1);
    });

    it('rejects records outside the settlement window (old or in the future) without storing them', async () => {
      const c = cardOf('window');
      const old = record(c, 1, ZERO, { time: NOW - WINDOW - 1 });
      const future = record(cardOf('window-2'), 1, ZERO, { time: NOW + 301 });
      const out = settled(await ledger.settleBatch(batch([old, future])));
      assert.deepEqual(
        out.response.results.map((r) => r.reason),
        ['RECORD_EXPIRED', 'RECORD_EXPIRED'],
      );
      assert.equal(await ledger.settledCount(), 0);
    });

    it('refuses a batch the verifier built wrongly before any transaction (CLEARING_BATCH_INVALID)', async () => {
      const [r1] = chain(cardOf('shape'), 1);
      await assert.rejects(ledger.settleBatch(batch([r1!], { batchId: 'not-hex' })), {
        code: 'CLEARING_BATCH_INVALID',
      });
      await assert.rejects(ledger.settleBatch(batch([{ ...r1!, terminalId: 'T-other' }])), {
        code: 'CLEARING_BATCH_INVALID',
      });
      assert.equal(await ledger.settledCount(), 0);
    });

    it("keeps the batch's card certificate with the card when its record is accepted", async () => {
      const c = cardOf('cert');
      const cert = new Uint8Array([1, 2, 3]);
      await ledger.settleBatch(batch(chain(c, 1, { certificateFromBatch: cert })));
      assert.deepEqual(await ledger.cardCertificate(c), cert);
      assert.equal(await ledger.cardCertificate(cardOf('cert-none')), undefined);
    });

    it('keeps the verified certificate of a card new to the ledger with its row even when the record is refused; one ending no later does not replace it', async () => {
      const c = cardOf('cert-refused');
      const first = new Uint8Array([4, 5, 6]);
      const out = settled(
        await ledger.settleBatch(batch([record(c, 1, ZERO, { time: NOW - WINDOW - 1, certificateFromBatch: first })])),
      );
      assert.equal(out.response.results[0]!.reason, 'RECORD_EXPIRED');
      assert.deepEqual(await ledger.cardCertificate(c), first); // verified by the verifier: a fallback for later batches
      await ledger.settleBatch(batch(chain(c, 1, { certificateFromBatch: new Uint8Array([7]) })));
      assert.deepEqual(await ledger.cardCertificate(c), first);
    });

    it('files the certificate that ends latest: of two in a batch, and over the one on file (renewed), never an earlier one', async () => {
      const c = cardOf('cert-two');
      const [r1, r2, r3, r4] = chain(c, 4);
      const older = { certificateFromBatch: new Uint8Array([1]), certificateNotAfter: NOW + 100 };
      const newer = { certificateFromBatch: new Uint8Array([2]), certificateNotAfter: NOW + 200 };
      await ledger.settleBatch(
        batch([
          { ...r1!, ...newer },
          { ...r2!, ...older },
        ]),
      );
      assert.deepEqual(await ledger.cardCertificate(c), newer.certificateFromBatch);
      await ledger.settleBatch(batch([{ ...r3!, ...older }])); // an old certificate again: kept out
      assert.deepEqual(await ledger.cardCertificate(c), newer.certificateFromBatch);
      const renewed = { certificateFromBatch: new Uint8Array([3]), certificateNotAfter: NOW + 300 };
      await ledger.settleBatch(batch([{ ...r4!, ...renewed }]));
      assert.deepEqual(await ledger.cardCertificate(c), renewed.certificateFromBatch);
      const revoked = cardOf('cert-revoked-first');
      assert.equal(await ledger.revokeCard(revoked, 'lost', NOW), true);
      assert.equal(await ledger.cardCertificate(revoked), undefined);
      const out = settled(await ledger.settleBatch(batch(chain(revoked, 1, older))));
      assert.equal(out.response.results[0]!.reason, 'REVOKED');
      assert.deepEqual(await ledger.cardCertificate(revoked), older.certificateFromBatch);
    });

    it('settles a void with its sale in one batch, whatever their order, and nets it in totals', async () => {
      const c = cardOf('void');
      const [sale] = chain(c, 1, { amount: 800 });
      const void_ = record(c, 2, sale!.hash, { amount: 800, reverses: 1 });
      const out = settled(await ledger.settleBatch(batch([void_, sale!])));
      assert.deepEqual(
        out.response.results.map((r) => r.verdict),
        ['accepted', 'accepted'],
      );
      assert.deepEqual(out.response.reversed, { count: 1, amount: { '156': 800 } });
      const t = await ledger.totals(T1, NOW, NOW + 1);
      assert.deepEqual(t.reversals, [{ currency: 156, count: 1, amount: 800 }]);
      const orphan = record(cardOf('void-orphan'), 2, ZERO, { reverses: 1 });
      const o2 = settled(await ledger.settleBatch(batch([orphan])));
      assert.equal(o2.response.results[0]!.reason, 'REVERSAL_ORPHAN');
    });
  });

  describe('idempotency', () => {
    it('replays the stored answer byte for byte for the same key and body, doing nothing again', async () => {
      const b = batch(chain(cardOf('replay'), 2));
      const first = settled(await ledger.settleBatch(b));
      const again = await ledger.settleBatch({ ...b, now: NOW + 50 });
      assert.equal(again.kind, 'replayed');
      assert.equal(again.answer, first.answer);
      assert.equal(await ledger.settledCount(), 2);
    });

    it('refuses the same key with another body (IDEMPOTENCY_KEY_REUSED) and keeps the first answer', async () => {
      const b = batch(chain(cardOf('reuse'), 1));
      const first = settled(await ledger.settleBatch(b));
      const other = batch(chain(cardOf('reuse-other'), 1), { batchId: b.batchId });
      await assert.rejects(ledger.settleBatch(other), (e: unknown) => {
        assert.ok(e instanceof CardpostError);
        assert.equal(e.code, 'IDEMPOTENCY_KEY_REUSED');
        assert.ok(e.hint.length > 0);
        return true;
      });
      assert.equal((await ledger.storedAnswer(T1, b.batchId))?.answer, first.answer);
      assert.equal(await ledger.settledRecord(cardOf('reuse-other'), 1), undefined);
    });

    it('scopes keys to the terminal: the same batch id from another terminal is its own batch', async () => {
      const [r] = chain(cardOf('scope'), 1);
      const b = batch([r!]);
      settled(await ledger.settleBatch(b));
      const fromT2 = batch([{ ...r!, terminalId: 'T-02' }], { batchId: b.batchId, terminalId: 'T-02' });
      const out = settled(await ledger.settleBatch(fromT2));
      assert.equal(out.response.results[0]!.verdict, 'duplicate');
    });
  });

  describe('double spend', () => {
    it('keeps both records as evidence and revokes the card in the same transaction', async () => {
      const c = cardOf('ds');
      const [r1, r2] = chain(c, 2);
      const first = settled(await ledger.settleBatch(batch([r1!, r2!])));
      const clash = record(c, 2, r1!.hash, { variant: 'other', amount: 999 });
      const out = settled(await ledger.settleBatch(batch([clash])));
      assert.equal(out.response.results[0]!.reason, 'DOUBLE_SPEND');
      assert.deepEqual(out.newlyRevoked, [c]);
      const ev = await ledger.evidence(c);
      assert.equal(ev.length, 1);
      assert.equal(ev[0]!.kind, 'double-spend');
      assert.deepEqual(ev[0]!.settledEnvelope, r2!.envelope);
      assert.deepEqual(ev[0]!.conflictingEnvelope, clash.envelope);
      assert.equal(await ledger.hasEvidence(c, 2, 'double-spend'), true);
      assert.equal((await ledger.revocation(c))?.settlesSignedUntil, null);
      assert.deepEqual(await ledger.revokedCards(), [c]);
      // the first-settled record stays; the card settles nothing new, but a resent old record is still a duplicate
      assert.deepEqual((await ledger.settledRecord(c, 2))?.batchId, first.response.batchId);
      const later = settled(await ledger.settleBatch(batch([record(c, 3, r2!.hash), r1!])));
      assert.deepEqual(
        later.response.results.map((r) => r.reason ?? r.verdict),
        ['REVOKED', 'duplicate'],
      );
      // sending the clash again: evidence is not duplicated, and nothing is newly revoked
      const again = settled(await ledger.settleBatch(batch([clash])));
      assert.deepEqual(again.newlyRevoked, []);
      assert.equal((await ledger.evidence(c)).length, 1);
    });

    it('catches two different records with one counter inside one batch', async () => {
      const c = cardOf('ds-in-batch');
      const a = record(c, 1, ZERO);
      const b = record(c, 1, ZERO, { variant: 'b' });
      const out = settled(await ledger.settleBatch(batch([a, b])));
      assert.deepEqual(
        out.response.results.map((r) => r.reason ?? r.verdict),
        ['accepted', 'DOUBLE_SPEND'],
      );
      assert.equal(await ledger.settledCount(), 1);
      assert.ok(await ledger.revocation(c));
    });
  });

  describe('hash chain', () => {
    it('accepts a gap, ends the settled prefix at it, and checks the gap filler against both neighbours', async () => {
      const c = cardOf('gap');
      const [r1, r2, r3] = chain(c, 3);
      settled(await ledger.settleBatch(batch([r1!, r3!])));
      assert.equal(await ledger.settledPrefix(c), 1);
      // a fork at 2: its prevHash is not record 1's hash
      const forkPrev = record(c, 2, new Uint8Array(32).fill(7), { variant: 'fork-prev' });
      // another fork at 2: links to 1, but record 3 does not link to it
      const forkNext = record(c, 2, r1!.hash, { variant: 'fork-next' });
      const out = settled(await ledger.settleBatch(batch([forkPrev, forkNext])));
      assert.deepEqual(
        out.response.results.map((r) => r.reason),
        ['CHAIN_BROKEN', 'CHAIN_BROKEN'],
      );
      assert.match(out.response.results[0]!.detail!, /prevHash does not match/);
      assert.match(out.response.results[1]!.detail!, /does not link to this record/);
      const ev = await ledger.evidence(c);
      assert.deepEqual(
        ev.map((e) => e.kind),
        ['chain-broken', 'chain-broken'],
      );
      assert.deepEqual(ev.find((e) => e.detail.includes('prevHash'))?.settledEnvelope, r1!.envelope);
      assert.equal(await ledger.revocation(c), undefined, 'a broken chain is evidence, not a revocation');
      const fill = settled(await ledger.settleBatch(batch([r2!])));
      assert.equal(fill.response.results[0]!.verdict, 'accepted');
      assert.equal(await ledger.settledPrefix(c), 3);
    });
  });

  describe('atomicity', () => {
    it('a failure in the middle of a batch leaves nothing: no record, evidence, revocation or key', async () => {
      const c = cardOf('atomic');
      const [r1, r2] = chain(c, 2);
      let failing = true;
      const l = await fresh({
        pause: async (point, at) => {
          if (failing && point === 'record-done' && at.index === 1) throw new Error('injected failure after record 1');
        },
      });
      settled(await l.settleBatch(batch([r1!])));
      // record 0 accepted, record 1 a double spend (evidence + revocation), then the failure, then record 2
      const clash = record(c, 1, ZERO, { variant: 'clash' });
      const other = cardOf('atomic-2');
      const b = batch([r2!, clash, record(other, 1, ZERO, { certificateFromBatch: new Uint8Array([9]) })]);
      await assert.rejects(l.settleBatch(b), /injected failure after record 1/);
      assert.equal(await l.settledCount(), 1);
      assert.equal(await l.settledRecord(c, 2), undefined);
      assert.deepEqual(await l.evidence(c), []);
      assert.equal(await l.revocation(c), undefined);
      assert.equal(await l.storedAnswer(T1, b.batchId), undefined);
      assert.equal(await l.cardCertificate(other), undefined);
      // the failed attempt left no key behind: the retry does the work
      failing = false;
      const retry = settled(await l.settleBatch(b));
      assert.deepEqual(
        retry.response.results.map((r) => r.reason ?? r.verdict),
        ['accepted', 'DOUBLE_SPEND', 'accepted'],
      );
      assert.equal(await l.settledCount(), 3);
      assert.ok(await l.revocation(c));
    });
  });
}
