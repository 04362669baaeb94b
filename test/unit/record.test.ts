import { strict as assert } from 'node:assert';
import { buildMap, decodeCanonical, encodeCanonical } from '../../protocol/cbor/index.js';
import { generateKeyPair, SIGNATURE_ALGORITHM_CODES, type SignatureAlgorithm } from '../../protocol/crypto/index.js';
import { DecodeError } from '../../protocol/errors.js';
import {
  BODY_TYPE,
  CERT_KIND,
  CVM,
  TrustStore,
  ZERO_HASH,
  checkChainLink,
  decodeCertificate,
  decodeEnvelope,
  decodeRevocationList,
  decodeTopupToken,
  decodeTxnRecord,
  encodeEnvelope,
  issueCertificate,
  keyId,
  recordAnswersRequest,
  recordId,
  selfSignedIssuer,
  signRevocationList,
  signTopupToken,
  signTxnRecord,
  suiteHash,
  verifyCertificate,
  verifyRevocationList,
  verifyTopupToken,
  verifyTxnRecord,
  type SigningKey,
  type TxnRecordFields,
} from '../../protocol/record/index.js';
import { toHex } from '../../protocol/bytes.js';

const now = 1_790_000_000;
const limits = { perTransaction: 50_000, noPin: 5_000, offlineAmount: 200_000, offlineCount: 50, maxBalance: 500_000 };

function key(alg: SignatureAlgorithm): SigningKey {
  return { algorithm: alg, ...generateKeyPair(alg) };
}

for (const alg of ['sm2-sm3', 'ecdsa-p256-sha256'] as const) {
  const code = SIGNATURE_ALGORITHM_CODES[alg];
  describe(`signed structures (${alg})`, () => {
    const issuerKey = key(alg);
    const ca = selfSignedIssuer(issuerKey, {
      serial: Uint8Array.of(1),
      name: 'Test Issuer CA',
      notBefore: now - 86400 * 365,
      notAfter: now + 86400 * 3650,
    });
    const cardKey = key(alg);
    const cardId = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
    const cardCert = issueCertificate(issuerKey, {
      serial: Uint8Array.of(2),
      kind: CERT_KIND.CARD,
      subjectId: cardId,
      algorithm: code,
      publicKey: cardKey.publicKey,
      notBefore: now - 100,
      notAfter: now + 86400,
      limits,
      currency: 156,
    });
    const base: TxnRecordFields = {
      cardId,
      counter: 1,
      amount: 1250,
      currency: 156,
      merchantId: 'M-canteen-01',
      terminalId: 'T-01',
      time: now,
      hostNonce: new Uint8Array(16).fill(7),
      balanceAfter: 98_750,
      prevHash: ZERO_HASH,
      algorithm: code,
      cvm: CVM.NONE,
    };

    it('records round-trip, verify, and chain by hash', () => {
      const r1 = signTxnRecord(alg, cardKey.privateKey, base);
      assert.equal(verifyTxnRecord(r1, cardKey.publicKey), true);
      assert.equal(recordId(r1), '0102030405060708:1');
      assert.deepEqual(r1.hash, suiteHash(code, r1.body));
      const back = decodeTxnRecord(r1.envelope);
      assert.deepEqual(back.body, r1.body);
      assert.deepEqual(checkChainLink(undefined, r1), { ok: true });

      const r2 = signTxnRecord(alg, cardKey.privateKey, {
        ...base,
        counter: 2,
        prevHash: r1.hash,
        balanceAfter: 97_500,
      });
      assert.deepEqual(checkChainLink(r1, r2), { ok: true });
      const fork = signTxnRecord(alg, cardKey.privateKey, {
        ...base,
        counter: 2,
        prevHash: new Uint8Array(32).fill(9),
      });
      assert.equal((checkChainLink(r1, fork) as { reason: string }).reason, 'fork');
      const r4 = signTxnRecord(alg, cardKey.privateKey, { ...base, counter: 4, prevHash: r1.hash });
      assert.equal((checkChainLink(r1, r4) as { reason: string }).reason, 'gap');
      assert.equal((checkChainLink(r2, r1) as { reason: string }).reason, 'replay');
      assert.equal((checkChainLink(undefined, r2) as { reason: string }).reason, 'gap');
    });

    it('refuses a tampered record, a wrong key, and a non-canonical body', () => {
      const r1 = signTxnRecord(alg, cardKey.privateKey, base);
      assert.equal(verifyTxnRecord(r1, key(alg).publicKey), false);
      const tamperedBody = encodeCanonical(
        buildMap([...(decodeCanonical(r1.body) as Map<number, never>)].map(([k, v]) => [k, k === 4 ? 1 : v] as const)),
      );
      const forged = decodeTxnRecord(encodeEnvelope({ body: tamperedBody, signature: r1.signature }));
      assert.equal(forged.amount, 1);
      assert.equal(verifyTxnRecord(forged, cardKey.publicKey), false);
      // the same map with the amount (key 4, 1250 = 19 04E2) in a longer form (1A 000004E2) is not canonical
      const hexBody = toHex(r1.body);
      assert.ok(hexBody.includes('041904e2'), "hexBody.includes('041904e2')");
      const longer = Uint8Array.from(Buffer.from(hexBody.replace('041904e2', '041a000004e2'), 'hex'));
      assert.throws(
        () => decodeTxnRecord(encodeEnvelope({ body: longer, signature: r1.signature })),
        (e: unknown) => e instanceof DecodeError && e.code.startsWith('CBOR_'),
      );
    });

    it('rejects a genesis record whose prevHash is not zero, and other types in the envelope', () => {
      assert.throws(
        () => signTxnRecord(alg, cardKey.privateKey, { ...base, prevHash: new Uint8Array(32).fill(9) }),
        (e: unknown) => e instanceof DecodeError && e.code === 'RECORD_CHAIN_GENESIS',
      );
      assert.throws(
        () => decodeTxnRecord(cardCert.envelope),
        (e: unknown) => e instanceof DecodeError && e.code === 'ENVELOPE_WRONG_TYPE',
      );
      assert.throws(() => decodeEnvelope(cardCert.envelope, BODY_TYPE.TOPUP_TOKEN, 'x'), DecodeError);
    });

    it('checks that the record answers the request', () => {
      const req = {
        amount: 1250,
        currency: 156,
        merchantId: 'M-canteen-01',
        terminalId: 'T-01',
        time: now,
        hostNonce: new Uint8Array(16).fill(7),
      };
      assert.equal(recordAnswersRequest(base, req), undefined);
      assert.match(recordAnswersRequest(base, { ...req, amount: 1 })!, /amount/);
      assert.match(recordAnswersRequest(base, { ...req, hostNonce: new Uint8Array(16) })!, /nonce/);
    });

    it('certificates verify through a trust store, with validity, kind and revocation', () => {
      assert.equal(decodeCertificate(cardCert.envelope).currency, 156);
      assert.deepEqual(verifyCertificate(cardCert, ca, { now, kind: CERT_KIND.CARD }), { ok: true });
      assert.equal(
        (verifyCertificate(cardCert, ca, { now: now + 86400 * 2 }) as { problem: string }).problem,
        'expired',
      );
      assert.equal(
        (verifyCertificate(cardCert, ca, { now: now - 1000 }) as { problem: string }).problem,
        'not-yet-valid',
      );
      assert.equal(
        (verifyCertificate(cardCert, ca, { now: ca.notBefore - 1 }) as { problem: string }).problem,
        'issuer-not-yet-valid',
      );
      assert.equal(
        (verifyCertificate(cardCert, ca, { now: ca.notAfter + 1 }) as { problem: string }).problem,
        'issuer-expired',
      );
      assert.equal(
        (verifyCertificate(cardCert, ca, { kind: CERT_KIND.TERMINAL }) as { problem: string }).problem,
        'wrong-kind',
      );
      const otherCa = selfSignedIssuer(key(alg), {
        serial: Uint8Array.of(1),
        name: 'Other',
        notBefore: 0,
        notAfter: now * 2,
      });
      assert.equal((verifyCertificate(cardCert, otherCa, {}) as { problem: string }).problem, 'unknown-issuer');
      assert.equal((verifyCertificate(cardCert, cardCert, {}) as { problem: string }).problem, 'issuer-not-ca');

      const store = new TrustStore();
      assert.equal(
        (store.check(cardCert, { now, kind: CERT_KIND.CARD }) as { problem: string }).problem,
        'unknown-issuer',
      );
      store.addIssuer(ca);
      assert.deepEqual(store.check(cardCert, { now, kind: CERT_KIND.CARD }), { ok: true });
      store.revoke(cardId);
      assert.equal((store.check(cardCert, { now, kind: CERT_KIND.CARD }) as { problem: string }).problem, 'revoked');
      assert.throws(() => store.addIssuer(cardCert));
    });

    it('a forged certificate signature is refused', () => {
      const forged = decodeCertificate(encodeEnvelope({ body: cardCert.body, signature: new Uint8Array(64).fill(1) }));
      assert.equal((verifyCertificate(forged, ca, {}) as { problem: string }).problem, 'bad-signature');
      assert.deepEqual(ca.issuerKeyId, keyId(code, issuerKey.publicKey));
    });

    it('revocation lists sort, dedupe and verify', () => {
      const ids = [Uint8Array.of(9, 9, 9, 9, 9, 9, 9, 9), cardId, cardId];
      const crl = signRevocationList(issuerKey, {
        issuerKeyId: ca.issuerKeyId,
        sequence: 3,
        issuedAt: now,
        revoked: ids,
      });
      assert.deepEqual(crl.revoked.map(toHex), ['0102030405060708', '0909090909090909']);
      assert.equal(verifyRevocationList(decodeRevocationList(crl.envelope), code, issuerKey.publicKey), true);
      assert.equal(verifyRevocationList(crl, code, cardKey.publicKey), false);
    });

    it('top-up tokens verify under the authority key only', () => {
      const authority = key(alg);
      const token = signTopupToken(authority, {
        cardId,
        loadSeq: 1,
        amount: 10_000,
        currency: 156,
        validUntilCounter: 10,
        issuedAt: now,
        resetOffline: true,
      });
      const back = decodeTopupToken(token.envelope);
      assert.equal(back.amount, 10_000);
      assert.equal(verifyTopupToken(back, code, authority.publicKey), true);
      assert.equal(verifyTopupToken(back, code, issuerKey.publicKey), false);
    });
  });
}
