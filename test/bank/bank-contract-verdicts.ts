/**
 * The bank contract's settlement verdicts (bank-contract.ts): one verdict per record, in order, for
 * every way a record can be good or bad; duplicates, double spends, revocations and chain continuity.
 */
import { strict as assert } from 'node:assert';
import { buildMap, decodeCanonical, encodeCanonical } from '../../protocol/cbor/index.js';
import { generateKeyPair } from '../../protocol/crypto/index.js';
import { toHex } from '../../protocol/bytes.js';
import {
  CERT_KIND,
  CVM,
  ZERO_HASH,
  keyId,
  decodeRevocationList,
  encodeEnvelope,
  issueCertificate,
  signTxnRecord,
  verifyRevocationList,
  type SignedTxnRecord,
} from '../../protocol/record/index.js';
import type { BatchResponse } from '../../device-sim/bank/index.js';
import { TestIssuer, TEST_LIMITS, NOW } from '../support/issuer.js';
import { DAY, PaperCard, batchId, settleOk, verdicts } from './bank-helpers.js';
import type { BankFixtures, Fixture } from './bank-fixture.js';
import type { BankTarget } from './bank-targets.js';

export function settlementVerdicts(target: BankTarget, { start, stop }: BankFixtures): void {
  describe('settlement verdicts', function () {
    let f: Fixture;
    beforeEach(async () => {
      f = await start();
    });
    afterEach(async () => {
      await stop(f);
    });

    it('accepts a valid batch, one verdict per record in order, with totals and record status', async () => {
      const a = new PaperCard(f.issuer);
      const b = new PaperCard(f.issuer);
      const recs = [a.pay(1200), b.pay(300), a.pay(4500), b.pay(7000)];
      const res = await settleOk(f, recs, [a.certificate, b.certificate]);
      assert.deepEqual(verdicts(res), ['accepted', 'accepted', 'accepted', 'accepted']);
      assert.deepEqual(
        res.results.map((r) => r.recordId),
        [`${a.hex}:1`, `${b.hex}:1`, `${a.hex}:2`, `${b.hex}:2`],
      );
      assert.deepEqual(res.accepted, { count: 4, amount: { 156: 13_000 } });
      assert.deepEqual(res.counts, { accepted: 4, duplicate: 0, rejected: 0 });
      assert.equal(res.terminalId, 'T-01');
      assert.equal(await f.bank.settledCount(), 4);

      if (target.cardServices) {
        const st = await f.client.request('GET', `/v1/records/${a.hex}/2`);
        assert.equal(st.status, 200);
        const body = st.json();
        assert.equal(body.status, 'settled');
        assert.equal(body.batchId, res.batchId);
        assert.equal(body.amount, 4500);
        assert.equal(body.doubleSpendEvidence, false);
        const missing = await f.client.request('GET', `/v1/records/${a.hex}/3`);
        assert.equal(missing.status, 404);
        assert.equal(missing.json().error.code, 'RECORD_NOT_FOUND');
        assert.equal((await f.client.request('GET', `/v1/records/zz/3`)).json().error.code, 'PATH_INVALID');
      }

      // later batches need not resend a certificate the bank has verified
      const res2 = await settleOk(f, [a.pay(100)], []);
      assert.deepEqual(verdicts(res2), ['accepted']);
    });

    it('refuses a forged record (another key) and a tampered one (body changed), without blocking the rest', async () => {
      const a = new PaperCard(f.issuer);
      const good1 = a.pay(1000);
      const thief = { algorithm: a.key.algorithm, ...generateKeyPair(a.key.algorithm) };
      const forged = signTxnRecord(thief.algorithm, thief.privateKey, {
        cardId: a.cardId,
        counter: 2,
        amount: 50,
        currency: 156,
        merchantId: 'M-canteen',
        terminalId: 'T-01',
        time: NOW(),
        hostNonce: new Uint8Array(16),
        balanceAfter: 1,
        prevHash: good1.hash,
        algorithm: good1.algorithm,
        cvm: CVM.NONE,
      });
      const honest2 = a.pay(2000);
      const tamperedBody = encodeCanonical(
        buildMap(
          [...(decodeCanonical(honest2.body) as Map<number, never>)].map(([k, v]) => [k, k === 4 ? 1 : v] as const),
        ),
      );
      const tampered = encodeEnvelope({ body: tamperedBody, signature: honest2.signature });
      const res = await f.client.submitBatch(
        batchId(),
        [good1.envelope, forged.envelope, tampered],
        [a.certificate.envelope],
      );
      const body = res.json<BatchResponse>();
      assert.deepEqual(verdicts(body), ['accepted', 'rejected:BAD_SIGNATURE', 'rejected:BAD_SIGNATURE']);
      assert.equal(body.accepted.count, 1);
      // the genuine counter 2 still settles afterwards
      assert.deepEqual(verdicts(await settleOk(f, [honest2], [])), ['accepted']);
    });

    it('answers a replayed record "duplicate" and never credits it twice', async () => {
      const a = new PaperCard(f.issuer);
      const r1 = a.pay(1500);
      const r2 = a.pay(2500);
      assert.deepEqual(verdicts(await settleOk(f, [r1, r2, r1], [a.certificate])), [
        'accepted',
        'accepted',
        'duplicate',
      ]);
      const again = await settleOk(f, [r2, r1], [a.certificate]);
      assert.deepEqual(verdicts(again), ['duplicate', 'duplicate']);
      assert.deepEqual(again.accepted, { count: 0, amount: {} });
      assert.match(again.results[0]!.detail!, /settled .* in batch/);
      assert.equal((await f.bank.settledRecords(a.hex)).length, 2);
      const day = new Date(NOW() * 1000).toISOString().slice(0, 10);
      const rec = await f.client.request('GET', `/v1/reconciliation?date=${day}`);
      assert.deepEqual(rec.json().totals, [{ currency: 156, count: 2, amount: 4000 }]);
    });

    it('detects a double spend: keeps both records as evidence, revokes the card, re-signs the revocation list', async () => {
      const a = new PaperCard(f.issuer);
      const r1 = a.pay(1000);
      const r2 = a.pay(2000);
      await settleOk(f, [r1, r2], [a.certificate]);
      const seqBefore = await f.bank.revocationSequence();

      const clone = a.pay(2000, { counter: 2, prevHash: r1.hash, merchantId: 'M-other' }); // same counter, different content
      const res = await settleOk(f, [clone], [a.certificate]);
      assert.deepEqual(verdicts(res), ['rejected:DOUBLE_SPEND']);
      const ev = await f.bank.evidence();
      assert.equal(ev.length, 1);
      assert.equal(ev[0]!.kind, 'double-spend');
      assert.deepEqual(ev[0]!.settledEnvelope, r2.envelope);
      assert.deepEqual(ev[0]!.conflictingEnvelope, clone.envelope);
      assert.deepEqual(await f.bank.revokedCards(), [a.hex]);
      if (target.cardServices)
        assert.equal((await f.client.request('GET', `/v1/records/${a.hex}/2`)).json().doubleSpendEvidence, true);

      // the published list: higher sequence, signed by the authority, for the issuer's key id, naming the card
      const crlRes = await fetch(`${f.url}/v1/revocations`);
      assert.equal(crlRes.status, 200);
      assert.equal(crlRes.headers.get('content-type'), 'application/cbor');
      const crl = decodeRevocationList(new Uint8Array(await crlRes.arrayBuffer()));
      assert.ok(crl.sequence > seqBefore, 'crl.sequence > seqBefore');
      assert.ok(
        verifyRevocationList(crl, f.issuer.authority.algorithm, f.issuer.authority.publicKey),
        'verifyRevocationList(crl, f.issuer.authority.algorithm, f.issuer.authority.publicKey)',
      );
      assert.deepEqual(crl.issuerKeyId, keyId(f.issuer.certificate.algorithm, f.issuer.certificate.publicKey));
      assert.deepEqual(crl.revoked.map(toHex), [a.hex]);
      const etag = crlRes.headers.get('etag')!;
      assert.equal((await fetch(`${f.url}/v1/revocations`, { headers: { 'If-None-Match': etag } })).status, 304);

      // later records of the card are refused; the replay of a settled record is still just a duplicate
      const r3 = a.pay(500);
      assert.deepEqual(verdicts(await settleOk(f, [r3, r1], [])), ['rejected:REVOKED', 'duplicate']);
      if (target.cardServices) {
        // no top-up for a revoked card
        const top = await f.client.topup('t-revoked', { cardId: a.hex, loadSeq: 1, amount: 100, currency: 156 });
        assert.equal(top.status, 403);
        assert.equal(top.json().error.code, 'REVOKED');
      }
    });

    it('refuses records of a card revoked by the operator', async () => {
      const a = new PaperCard(f.issuer);
      const seq = await f.bank.revocationSequence();
      assert.equal(await f.bank.revokeCard(a.hex, 'lost'), true);
      assert.equal(await f.bank.revokeCard(a.hex), false);
      assert.equal(await f.bank.revocationSequence(), seq + 1);
      const res = await settleOk(f, [a.pay(100)], [a.certificate]);
      assert.deepEqual(verdicts(res), ['rejected:REVOKED']);
      // the certificate of that refused record is on file now: without one, still REVOKED, not CERT_MISSING
      assert.deepEqual(verdicts(await settleOk(f, [a.pay(200)], [])), ['rejected:REVOKED']);
    });

    it("keeps a card's renewed certificate on file: after the old one expires, a batch without certificates still settles", async () => {
      const now = NOW();
      const a = new PaperCard(f.issuer, { notBefore: now - 60 * DAY, notAfter: now - 10 * DAY });
      const renewed = issueCertificate(f.issuer.key, {
        serial: Uint8Array.of(0x7e, 0x01),
        kind: CERT_KIND.CARD,
        subjectId: a.cardId,
        algorithm: a.certificate.algorithm,
        publicKey: a.key.publicKey,
        notBefore: now - 12 * DAY,
        notAfter: now + 300 * DAY,
        limits: TEST_LIMITS,
        currency: 156,
      });
      const r1 = a.pay(100, { time: now - 15 * DAY }); // under the old certificate
      assert.deepEqual(verdicts(await settleOk(f, [r1], [a.certificate])), ['accepted']);
      const r2 = a.pay(200, { time: now - 5 * DAY }); // the counter sends the renewed one once
      assert.deepEqual(verdicts(await settleOk(f, [r2], [renewed])), ['accepted']);
      const r3 = a.pay(300); // and then no certificate: the bank must check it against the renewed one
      assert.deepEqual(verdicts(await settleOk(f, [r3], [])), ['accepted']);
      // the old certificate sent again (with the first record, resent) does not push the renewed one out
      assert.deepEqual(verdicts(await settleOk(f, [r1], [a.certificate])), ['duplicate']);
      assert.deepEqual(verdicts(await settleOk(f, [a.pay(400)], [])), ['accepted']);
    });

    it("files a card's certificate from its first batch even when the record is refused; a later batch without certificates settles on it", async () => {
      const now = NOW();
      const a = new PaperCard(f.issuer);
      const old = a.pay(100, { time: now - 31 * DAY });
      assert.deepEqual(verdicts(await settleOk(f, [old], [a.certificate])), ['rejected:RECORD_EXPIRED']);
      const next = a.pay(300, { counter: 2, prevHash: old.hash });
      assert.deepEqual(verdicts(await settleOk(f, [next], [])), ['accepted']);
      const stranger = new PaperCard(f.issuer); // never seen with a certificate
      assert.deepEqual(verdicts(await settleOk(f, [stranger.pay(100)], [])), ['rejected:CERT_MISSING']);
    });

    it('refuses expired records (outside the window, in the future) and records outside the card certificate validity', async () => {
      const now = NOW();
      const a = new PaperCard(f.issuer);
      const old = a.pay(100, { time: now - 31 * DAY });
      const future = a.pay(100, { counter: 2, prevHash: old.hash, time: now + 330 });
      const ok = a.pay(100, { counter: 2, prevHash: old.hash, time: now - 29 * DAY });
      const b = new PaperCard(f.issuer, { notBefore: now - 20 * DAY, notAfter: now - 10 * DAY });
      const afterExpiry = b.pay(100, { time: now - 5 * DAY });
      const inValidity = b.pay(100, { counter: 2, time: now - 15 * DAY });
      const res = await settleOk(f, [old, future, ok, afterExpiry, inValidity], [a.certificate, b.certificate]);
      assert.deepEqual(verdicts(res), [
        'rejected:RECORD_EXPIRED',
        'rejected:RECORD_EXPIRED',
        'accepted',
        'rejected:CERT_EXPIRED',
        'accepted',
      ]);
    });

    it('checks chain continuity with whatever neighbours are settled, in any order', async () => {
      const a = new PaperCard(f.issuer);
      const recs = [1, 2, 3, 4, 5].map((i) => a.pay(i * 100));
      // out of order, with gaps: 5 then 2 then 4, all consistent
      assert.deepEqual(verdicts(await settleOk(f, [recs[4]!, recs[1]!], [a.certificate])), ['accepted', 'accepted']);
      // a 4 that 5 does not link to (forked) is refused; the genuine 4 is accepted
      const fork4 = a.pay(999, { counter: 4, prevHash: recs[2]!.hash });
      // a 3 whose prevHash is not the settled 2's hash
      const bad3 = a.pay(300, { counter: 3, prevHash: new Uint8Array(32).fill(7) });
      const res = await settleOk(f, [fork4, bad3, recs[3]!, recs[2]!, recs[0]!], []);
      assert.deepEqual(verdicts(res), [
        'rejected:CHAIN_BROKEN',
        'rejected:CHAIN_BROKEN',
        'accepted',
        'accepted',
        'accepted',
      ]);
      assert.equal((await f.bank.settledRecords(a.hex)).length, 5);
      assert.deepEqual(
        (await f.bank.evidence()).map((e) => e.kind),
        ['chain-broken', 'chain-broken'],
      );
    });

    it('refuses records of another terminal, of unknown issuers, without certificates, malformed or over the limits', async () => {
      const a = new PaperCard(f.issuer);
      const otherIssuer = new TestIssuer();
      const alien = new PaperCard(otherIssuer);
      const nocert = new PaperCard(f.issuer);
      const wrongKind = new PaperCard(f.issuer);
      const fakeCert = issueCertificate(f.issuer.key, {
        // a terminal certificate whose subject looks like the card id
        serial: Uint8Array.of(9),
        kind: CERT_KIND.TERMINAL,
        subjectId: wrongKind.cardId,
        algorithm: wrongKind.certificate.algorithm,
        publicKey: wrongKind.key.publicKey,
        notBefore: NOW() - 100,
        notAfter: NOW() + 100,
      });
      const usd = new PaperCard(f.issuer, { currency: 840 });
      const big = new PaperCard(f.issuer);
      const res = await settleOk(
        f,
        [
          a.pay(100, { terminalId: 'T-02' }),
          alien.pay(100),
          nocert.pay(100),
          wrongKind.pay(100),
          usd.pay(100),
          big.pay(TEST_LIMITS.perTransaction + 1, { counter: 1, prevHash: ZERO_HASH }),
          big.pay(TEST_LIMITS.noPin + 1, { counter: 1, prevHash: ZERO_HASH, cvm: CVM.NONE }),
        ],
        [a.certificate, alien.certificate, fakeCert, usd.certificate, big.certificate],
      );
      assert.deepEqual(verdicts(res), [
        'rejected:WRONG_TERMINAL',
        'rejected:CERT_UNKNOWN_ISSUER',
        'rejected:CERT_MISSING',
        'rejected:CERT_INVALID',
        'rejected:CURRENCY_UNSUPPORTED',
        'rejected:OVER_LIMIT',
        'rejected:OVER_LIMIT',
      ]);
      const mal = await f.client.request('POST', '/v1/batches', {
        idempotencyKey: '0'.repeat(32),
        body: {
          batchId: '0'.repeat(32),
          records: ['not base64!', 'AAAA', Buffer.from(a.certificate.envelope).toString('base64url')],
          certificates: ['%%'],
        },
      });
      assert.equal(mal.status, 200, mal.text);
      const m = mal.json<BatchResponse>();
      assert.deepEqual(verdicts(m), ['rejected:MALFORMED', 'rejected:MALFORMED', 'rejected:MALFORMED']);
      assert.equal(m.results[0]!.recordId, null);
    });

    it('settles a batch of 1000 records, the most a batch may hold, and refuses one more (speed: npm run bench -- settlement)', async function () {
      const cards = Array.from({ length: 10 }, () => new PaperCard(f.issuer));
      const recs: SignedTxnRecord[] = [];
      for (let i = 0; i < 100; i++) for (const c of cards) recs.push(c.pay(10));
      const res = await settleOk(
        f,
        recs,
        cards.map((c) => c.certificate),
      );
      assert.equal(res.accepted.count, 1000);
      const tooMany = await f.client.submitBatch(
        batchId(),
        [...recs, recs[0]!].map((r) => r.envelope),
        [],
      );
      assert.equal(tooMany.status, 400);
      assert.equal(tooMany.json().error.code, 'BATCH_TOO_LARGE');
    });

    if (!target.cardServices)
      it('answers 501 ROUTE_NOT_SERVED to the card services it does not serve, and settles nothing for them', async () => {
        const a = new PaperCard(f.issuer);
        await settleOk(f, [a.pay(100)], [a.certificate]);
        for (const [method, route, body] of [
          ['GET', `/v1/records/${a.hex}/1`, undefined],
          ['POST', '/v1/topups', { cardId: a.hex, loadSeq: 1, amount: 100, currency: 156 }],
          ['POST', '/v1/refunds', { cardId: a.hex, counter: 1, amount: 100, currency: 156 }],
          ['POST', `/v1/cards/${a.hex}/lost`, {}],
          ['GET', `/v1/cards/${a.hex}/block-order`, undefined],
        ] as const) {
          const r = await f.client.request(method, route, { ...(body ? { body, idempotencyKey: batchId() } : {}) });
          assert.equal(`${r.status} ${r.json().error.code}`, '501 ROUTE_NOT_SERVED', `${method} ${route}`);
          assert.ok(r.json().error.hint, `${method} ${route}: a hint says where to go`);
        }
        assert.deepEqual(await f.bank.revokedCards(), []);
        assert.equal(await f.bank.settledCount(), 1);
      });
  });
}
