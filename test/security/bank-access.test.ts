import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { generateKeyPair, SIGNATURE_ALGORITHM_CODES, type SignatureAlgorithm } from '../../protocol/crypto/index.js';
import { toHex } from '../../protocol/bytes.js';
import {
  CERT_KIND,
  CVM,
  ZERO_HASH,
  issueCertificate,
  signTxnRecord,
  type Certificate,
  type SignedTxnRecord,
  type SigningKey,
} from '../../protocol/record/index.js';
import { SimBank } from '../../device-sim/bank/index.js';
import { BankTerminalClient } from '../../device-sim/bank/terminal-client.js';
import { TestIssuer, TEST_LIMITS, NOW, ascii } from '../support/issuer.js';
import { initIssuerDir, issueIssuerService, issueTerminal } from '../../host/issuer/issuer-dir.js';

/**
 * Security issue #12, hole 6: a settled record at the bank is readable only by the terminal that
 * submitted it and by the issuer (a kind 5 issuer-service certificate, docs/bank-api.md §5).
 * Any other terminal gets the very answer it gets for a record that does not exist.
 */

const DAY = 86400;

function paperCard(issuer: { key: SigningKey; algorithm: SignatureAlgorithm }) {
  const key: SigningKey = { algorithm: issuer.algorithm, ...generateKeyPair(issuer.algorithm) };
  const cardId = Uint8Array.from(randomBytes(8));
  const now = NOW();
  const certificate = issueCertificate(issuer.key, {
    serial: Uint8Array.of(7, 7),
    kind: CERT_KIND.CARD,
    subjectId: cardId,
    algorithm: SIGNATURE_ALGORITHM_CODES[issuer.algorithm],
    publicKey: key.publicKey,
    notBefore: now - 60,
    notAfter: now + 365 * DAY,
    limits: TEST_LIMITS,
    currency: 156,
  });
  let prevHash: Uint8Array = ZERO_HASH;
  let counter = 0;
  const pay = (amount: number, terminalId: string): SignedTxnRecord => {
    const r = signTxnRecord(key.algorithm, key.privateKey, {
      cardId,
      counter: ++counter,
      amount,
      currency: 156,
      merchantId: 'M-shop',
      terminalId,
      time: NOW(),
      hostNonce: Uint8Array.from(randomBytes(16)),
      balanceAfter: 10_000,
      prevHash,
      algorithm: SIGNATURE_ALGORITHM_CODES[key.algorithm],
      cvm: CVM.NONE,
    });
    prevHash = r.hash;
    return r;
  };
  return { hex: toHex(cardId), certificate, pay };
}

/** A client authenticated with an issuer-service (kind 5) certificate. */
function issuerService(issuer: TestIssuer, url: string, name = 'issuer back office'): BankTerminalClient {
  const key: SigningKey = { algorithm: issuer.algorithm, ...generateKeyPair(issuer.algorithm) };
  const now = NOW();
  const certificate: Certificate = issueCertificate(issuer.key, {
    serial: Uint8Array.of(9, 9),
    kind: CERT_KIND.ISSUER_SERVICE,
    subjectId: ascii(name),
    algorithm: SIGNATURE_ALGORITHM_CODES[issuer.algorithm],
    publicKey: key.publicKey,
    notBefore: now - DAY,
    notAfter: now + 365 * DAY,
  });
  return new BankTerminalClient({ baseUrl: url, key, certificate });
}

describe('security #12 hole 6: a settled record is readable only by its terminal and the issuer', function () {
  this.timeout(30_000);
  let dir: string;
  let bank: SimBank;
  let url: string;
  const issuer = new TestIssuer();
  let t1: BankTerminalClient;
  let t2: BankTerminalClient;

  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'cardpost-bank-access-'));
    bank = new SimBank({
      dbPath: path.join(dir, 'bank.sqlite'),
      issuerCertificate: issuer.certificate,
      authority: { key: issuer.authorityKey, certificate: issuer.authority },
    });
    url = (await bank.listen()).url;
    t1 = new BankTerminalClient({ baseUrl: url, ...issuer.terminal('T-01') });
    t2 = new BankTerminalClient({ baseUrl: url, ...issuer.terminal('T-02') });
  });
  afterEach(async () => {
    await bank.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function settle(client: BankTerminalClient, records: SignedTxnRecord[], cert: Certificate): Promise<void> {
    const res = await client.submitBatch(
      randomBytes(16).toString('hex'),
      records.map((r) => r.envelope),
      [cert.envelope],
    );
    assert.equal(res.status, 200, res.text);
    assert.ok(
      res.json().results.every((r: { verdict: string }) => r.verdict === 'accepted'),
      res.text,
    );
  }

  it('another terminal gets exactly the answer for a record that does not exist (404 RECORD_NOT_FOUND)', async () => {
    const card = paperCard(issuer);
    const path1 = `/v1/records/${card.hex}/1`;
    const before = await t2.request('GET', path1);
    assert.equal(before.status, 404);
    await settle(t1, [card.pay(1_234, 'T-01')], card.certificate);
    const after = await t2.request('GET', path1);
    assert.equal(after.status, 404, `T-02 read T-01's record: ${after.text}`);
    assert.equal(after.json().error.code, 'RECORD_NOT_FOUND');
    assert.equal(after.text, before.text, 'the refusal must not differ from "no such record"');
    assert.equal(after.headers.get('content-type'), before.headers.get('content-type'));
    assert.equal(after.headers.get('content-length'), before.headers.get('content-length'));
  });

  it('the submitting terminal reads its own record; a card paying at two counters shows each only its own', async () => {
    const card = paperCard(issuer);
    await settle(t1, [card.pay(100, 'T-01')], card.certificate);
    await settle(t2, [card.pay(200, 'T-02')], card.certificate);
    const own1 = await t1.request('GET', `/v1/records/${card.hex}/1`);
    assert.equal(own1.status, 200, own1.text);
    assert.equal(own1.json().amount, 100);
    const own2 = await t2.request('GET', `/v1/records/${card.hex}/2`);
    assert.equal(own2.status, 200, own2.text);
    assert.equal(own2.json().terminalId, 'T-02');
    assert.equal((await t1.request('GET', `/v1/records/${card.hex}/2`)).status, 404);
    assert.equal((await t2.request('GET', `/v1/records/${card.hex}/1`)).status, 404);
  });

  it("the issuer, with an issuer-service (kind 5) certificate, reads any card's record", async () => {
    const card = paperCard(issuer);
    await settle(t1, [card.pay(100, 'T-01')], card.certificate);
    await settle(t2, [card.pay(200, 'T-02')], card.certificate);
    const svc = issuerService(issuer, url);
    for (const [n, terminal] of [
      [1, 'T-01'],
      [2, 'T-02'],
    ] as const) {
      const res = await svc.request('GET', `/v1/records/${card.hex}/${n}`);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json().terminalId, terminal);
    }
    assert.equal((await svc.request('GET', `/v1/records/${card.hex}/3`)).json().error.code, 'RECORD_NOT_FOUND');
  });

  it('an issuer-service certificate cannot settle, top up or reconcile (401 AUTH_CERT_INVALID), nor can one of another issuer read', async () => {
    const card = paperCard(issuer);
    const svc = issuerService(issuer, url);
    const batch = await svc.submitBatch(
      randomBytes(16).toString('hex'),
      [card.pay(100, 'issuer back office').envelope],
      [card.certificate.envelope],
    );
    assert.equal(batch.status, 401, batch.text);
    assert.equal(batch.json().error.code, 'AUTH_CERT_INVALID');
    assert.match(batch.json().error.hint, /terminal/);
    const top = await svc.topup('k1', { cardId: card.hex, loadSeq: 1, amount: 100, currency: 156 });
    assert.equal(top.json().error.code, 'AUTH_CERT_INVALID');
    const rec = await svc.request('GET', '/v1/reconciliation?date=2026-01-01');
    assert.equal(rec.json().error.code, 'AUTH_CERT_INVALID');

    const stranger = issuerService(new TestIssuer(), url);
    const res = await stranger.request('GET', `/v1/records/${card.hex}/1`);
    assert.equal(res.status, 401);
    assert.equal(res.json().error.code, 'AUTH_CERT_UNKNOWN_ISSUER');
  });

  it('the issuer tools make the issuer-service key and certificate (issueIssuerService), and the bank accepts it for reads', async () => {
    const material = initIssuerDir(path.join(dir, 'issuer'));
    const own = new SimBank({
      dbPath: path.join(dir, 'own.sqlite'),
      issuerCertificate: material.ca.certificate,
      authority: material.authority,
    });
    try {
      const { url: ownUrl } = await own.listen();
      const term = issueTerminal(material, 'T-07', path.join(dir, 't7'));
      const svc = issueIssuerService(material, 'issuer back office', path.join(dir, 'svc'));
      assert.equal(svc.certificate.kind, CERT_KIND.ISSUER_SERVICE);
      assert.ok(svc.certificate.notAfter <= material.ca.certificate.notAfter, 'capped to the CA');
      const card = paperCard({ key: material.ca.key, algorithm: material.ca.key.algorithm });
      const t7 = new BankTerminalClient({ baseUrl: ownUrl, ...term });
      const res = await t7.submitBatch(
        randomBytes(16).toString('hex'),
        [card.pay(300, 'T-07').envelope],
        [card.certificate.envelope],
      );
      assert.equal(res.json().results[0].verdict, 'accepted', res.text);
      const read = await new BankTerminalClient({ baseUrl: ownUrl, ...svc }).request(
        'GET',
        `/v1/records/${card.hex}/1`,
      );
      assert.equal(read.status, 200, read.text);
      assert.equal(read.json().amount, 300);
    } finally {
      await own.close();
    }
  });

  it('an unauthenticated read is 401, a malformed path 400, before anything is looked up', async () => {
    const res = await t1.request('GET', '/v1/records/0102030405060708/1', { unsigned: true });
    assert.equal(res.status, 401);
    assert.equal(res.json().error.code, 'AUTH_MISSING');
    assert.equal((await t2.request('GET', '/v1/records/zz/1')).json().error.code, 'PATH_INVALID');
  });
});
