import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { buildMap, decodeCanonical, encodeCanonical } from '../../protocol/cbor/index.js';
import { generateKeyPair, SIGNATURE_ALGORITHM_CODES } from '../../protocol/crypto/index.js';
import { toHex } from '../../protocol/bytes.js';
import {
  CERT_KIND,
  CVM,
  ZERO_HASH,
  keyId,
  decodeRevocationList,
  decodeTopupToken,
  encodeEnvelope,
  issueCertificate,
  signTxnRecord,
  verifyRevocationList,
  verifyTopupToken,
  type Certificate,
  type SignedTxnRecord,
  type SigningKey,
  type TxnRecordFields,
} from '../../protocol/record/index.js';
import { SimBank, REJECT_REASON, type BatchResponse, type SimBankOptions } from '../../device-sim/bank/index.js';
import { BankTerminalClient } from '../../device-sim/bank/terminal-client.js';
import { signTerminalRequest, canonicalRequestString } from '../../protocol/bank/terminal-auth.js';
import { TestIssuer, TEST_LIMITS, NOW } from '../support/issuer.js';
import { until } from '../support/settlement-helpers.js';

const DAY = 86400;
const batchId = (): string => randomBytes(16).toString('hex');

/** A card without a card: its key, certificate and hash chain, signing records directly. */
class PaperCard {
  readonly key: SigningKey;
  readonly certificate: Certificate;
  readonly cardId: Uint8Array;
  counter = 0;
  prevHash: Uint8Array = ZERO_HASH;
  balance = 900_000;
  private static serial = 500;

  constructor(
    issuer: TestIssuer,
    o: { cardId?: Uint8Array; notBefore?: number; notAfter?: number; currency?: number; issuerKey?: SigningKey } = {},
  ) {
    this.key = { algorithm: issuer.algorithm, ...generateKeyPair(issuer.algorithm) };
    this.cardId = o.cardId ?? Uint8Array.from(randomBytes(8));
    const now = NOW();
    const s = PaperCard.serial++;
    this.certificate = issueCertificate(o.issuerKey ?? issuer.key, {
      serial: Uint8Array.of(s >> 8, s & 0xff),
      kind: CERT_KIND.CARD,
      subjectId: this.cardId,
      algorithm: SIGNATURE_ALGORITHM_CODES[issuer.algorithm],
      publicKey: this.key.publicKey,
      notBefore: o.notBefore ?? now - 90 * DAY,
      notAfter: o.notAfter ?? now + 365 * DAY,
      limits: TEST_LIMITS,
      currency: o.currency ?? 156,
    });
  }

  get hex(): string {
    return toHex(this.cardId);
  }

  /** The next record of the chain (or, with `counter`/`prevHash` given, any record: the chain is not advanced then). */
  pay(amount: number, o: Partial<TxnRecordFields> = {}): SignedTxnRecord {
    const advance = o.counter === undefined && o.prevHash === undefined;
    const counter = o.counter ?? this.counter + 1;
    const f: TxnRecordFields = {
      cardId: this.cardId,
      counter,
      amount,
      currency: 156,
      merchantId: 'M-canteen',
      terminalId: 'T-01',
      time: NOW(),
      hostNonce: Uint8Array.from(randomBytes(16)),
      balanceAfter: Math.max(0, this.balance - amount),
      prevHash: this.prevHash,
      algorithm: SIGNATURE_ALGORITHM_CODES[this.key.algorithm],
      cvm: amount > TEST_LIMITS.noPin ? CVM.OFFLINE_PIN : CVM.NONE,
      ...o,
    };
    const r = signTxnRecord(this.key.algorithm, this.key.privateKey, f);
    if (advance) {
      this.counter = counter;
      this.prevHash = r.hash;
      this.balance = f.balanceAfter;
    }
    return r;
  }
}

interface Fixture {
  dir: string;
  issuer: TestIssuer;
  bank: SimBank;
  url: string;
  term: { key: SigningKey; certificate: Certificate };
  client: BankTerminalClient;
  opts: SimBankOptions;
}

async function start(extra: Partial<SimBankOptions> = {}, issuer = new TestIssuer()): Promise<Fixture> {
  const dir = mkdtempSync(path.join(tmpdir(), 'cardpost-bank-'));
  const opts: SimBankOptions = {
    dbPath: path.join(dir, 'bank.sqlite'),
    issuerCertificate: issuer.certificate,
    authority: { key: issuer.authorityKey, certificate: issuer.authority },
    ...extra,
  };
  const bank = new SimBank(opts);
  const { url } = await bank.listen({ host: '127.0.0.1', port: 0 });
  const term = issuer.terminal('T-01');
  const client = new BankTerminalClient({ baseUrl: url, ...term, ...(extra.clock ? { clock: extra.clock } : {}) });
  return { dir, issuer, bank, url, term, client, opts };
}

async function stop(f: Fixture | undefined): Promise<void> {
  if (!f) return;
  await f.bank.close();
  rmSync(f.dir, { recursive: true, force: true });
}

async function settleOk(
  f: Fixture,
  records: SignedTxnRecord[],
  certs: Certificate[],
  client = f.client,
): Promise<BatchResponse> {
  const res = await client.submitBatch(
    batchId(),
    records.map((r) => r.envelope),
    certs.map((c) => c.envelope),
  );
  assert.equal(res.status, 200, res.text);
  return res.json<BatchResponse>();
}

const verdicts = (b: BatchResponse): string[] =>
  b.results.map((r) => (r.verdict === 'rejected' ? `rejected:${r.reason}` : r.verdict));

describe('simulated bank: settlement verdicts', function () {
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
    assert.equal(f.bank.settledCount(), 4);

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
    assert.deepEqual(verdicts(await settleOk(f, [r1, r2, r1], [a.certificate])), ['accepted', 'accepted', 'duplicate']);
    const again = await settleOk(f, [r2, r1], [a.certificate]);
    assert.deepEqual(verdicts(again), ['duplicate', 'duplicate']);
    assert.deepEqual(again.accepted, { count: 0, amount: {} });
    assert.match(again.results[0]!.detail!, /settled .* in batch/);
    assert.equal(f.bank.settledRecords(a.hex).length, 2);
    const day = new Date(NOW() * 1000).toISOString().slice(0, 10);
    const rec = await f.client.request('GET', `/v1/reconciliation?date=${day}`);
    assert.deepEqual(rec.json().totals, [{ currency: 156, count: 2, amount: 4000 }]);
  });

  it('detects a double spend: keeps both records as evidence, revokes the card, re-signs the revocation list', async () => {
    const a = new PaperCard(f.issuer);
    const r1 = a.pay(1000);
    const r2 = a.pay(2000);
    await settleOk(f, [r1, r2], [a.certificate]);
    const seqBefore = f.bank.revocationList().sequence;

    const clone = a.pay(2000, { counter: 2, prevHash: r1.hash, merchantId: 'M-other' }); // same counter, different content
    const res = await settleOk(f, [clone], [a.certificate]);
    assert.deepEqual(verdicts(res), ['rejected:DOUBLE_SPEND']);
    const ev = f.bank.evidence();
    assert.equal(ev.length, 1);
    assert.equal(ev[0]!.kind, 'double-spend');
    assert.deepEqual(ev[0]!.settledEnvelope, r2.envelope);
    assert.deepEqual(ev[0]!.conflictingEnvelope, clone.envelope);
    assert.deepEqual(f.bank.revokedCards(), [a.hex]);
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
    // no top-up for a revoked card
    const top = await f.client.topup('t-revoked', { cardId: a.hex, loadSeq: 1, amount: 100, currency: 156 });
    assert.equal(top.status, 403);
    assert.equal(top.json().error.code, 'REVOKED');
  });

  it('refuses records of a card revoked by the operator', async () => {
    const a = new PaperCard(f.issuer);
    const seq = f.bank.revocationList().sequence;
    assert.equal(f.bank.revokeCard(a.hex, 'lost'), true);
    assert.equal(f.bank.revokeCard(a.hex), false);
    assert.equal(f.bank.revocationList().sequence, seq + 1);
    const res = await settleOk(f, [a.pay(100)], [a.certificate]);
    assert.deepEqual(verdicts(res), ['rejected:REVOKED']);
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
    assert.equal(f.bank.settledRecords(a.hex).length, 5);
    assert.deepEqual(
      f.bank.evidence().map((e) => e.kind),
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
});

describe('simulated bank: terminal authentication', function () {
  let f: Fixture;
  beforeEach(async () => {
    f = await start();
  });
  afterEach(async () => {
    await stop(f);
  });

  const code = async (p: Promise<{ status: number; json(): any }>): Promise<string> => {
    const r = await p;
    return `${r.status} ${r.status >= 400 ? r.json().error.code : ''}`.trim();
  };

  it('builds the canonical string exactly as documented', () => {
    assert.equal(
      canonicalRequestString({ method: 'post', path: '/v1/batches', date: 1790000000, idempotencyKey: 'k', body: '' }),
      'POST\n/v1/batches\n1790000000\nk\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    assert.equal(
      canonicalRequestString({
        method: 'GET',
        path: '/v1/reconciliation?date=2026-05-01',
        date: 1,
        body: undefined,
      }).split('\n')[3],
      '',
    );
  });

  it('refuses unauthenticated, forged, tampered, expired-date and replayed-late requests with 401', async () => {
    const day = '/v1/reconciliation?date=2026-01-01';
    assert.equal(await code(f.client.request('GET', day)), '200');
    const unsigned = await f.client.request('GET', day, { unsigned: true });
    assert.equal(unsigned.status, 401);
    assert.equal(unsigned.headers.get('www-authenticate'), 'Cardpost-Terminal');
    assert.deepEqual(Object.keys(unsigned.json().error).sort(), ['code', 'hint', 'message']);
    assert.equal(unsigned.json().error.code, 'AUTH_MISSING');

    // forged: right certificate, signature by another key
    const thief = { algorithm: f.term.key.algorithm, ...generateKeyPair(f.term.key.algorithm) };
    const forger = new BankTerminalClient({ baseUrl: f.url, key: thief, certificate: f.term.certificate });
    assert.equal(await code(forger.request('GET', day)), '401 AUTH_BAD_SIGNATURE');
    // tampered: signed for one path, sent to another
    const h = signTerminalRequest({ method: 'GET', path: day, key: f.term.key, certificate: f.term.certificate });
    assert.equal(
      await code(fetch(`${f.url}/v1/reconciliation?date=2026-01-02`, { headers: h }).then(wrap)),
      '401 AUTH_BAD_SIGNATURE',
    );
    // tampered body
    const key = batchId();
    const signed = signTerminalRequest({
      method: 'POST',
      path: '/v1/batches',
      body: '{"batchId":"x"}',
      idempotencyKey: key,
      key: f.term.key,
      certificate: f.term.certificate,
    });
    const tampered = await fetch(`${f.url}/v1/batches`, {
      method: 'POST',
      headers: { ...signed, 'Content-Type': 'application/json' },
      body: '{"batchId":"y"}',
    }).then(wrap);
    assert.equal(`${tampered.status} ${tampered.json().error.code}`, '401 AUTH_BAD_SIGNATURE');
    // a replay of a captured request after the 300 s window
    assert.equal(await code(f.client.request('GET', day, { date: NOW() - 301 })), '401 AUTH_DATE_SKEW');
    assert.equal(await code(f.client.request('GET', day, { date: NOW() + 301 })), '401 AUTH_DATE_SKEW');
    assert.equal(await code(f.client.request('GET', day, { date: NOW() - 299 })), '200');
    // garbage headers
    assert.equal(
      await code(f.client.request('GET', day, { headers: { 'X-Cardpost-Date': '12abc' } })),
      '401 AUTH_MALFORMED',
    );
    assert.equal(
      await code(f.client.request('GET', day, { headers: { 'X-Cardpost-Signature': 'AAAA' } })),
      '401 AUTH_MALFORMED',
    );
    assert.equal(
      await code(f.client.request('GET', day, { headers: { 'X-Cardpost-Terminal-Cert': 'AAAA' } })),
      '401 AUTH_CERT_INVALID',
    );
  });

  it('refuses terminal certificates of unknown issuers, expired, or of the wrong kind; accepts P-256 terminals', async () => {
    const day = '/v1/reconciliation?date=2026-01-01';
    const stranger = new TestIssuer().terminal('T-01');
    assert.equal(
      await code(new BankTerminalClient({ baseUrl: f.url, ...stranger }).request('GET', day)),
      '401 AUTH_CERT_UNKNOWN_ISSUER',
    );
    const expired = f.issuer.terminal('T-01', { notBefore: NOW() - 100 * DAY, notAfter: NOW() - DAY });
    assert.equal(
      await code(new BankTerminalClient({ baseUrl: f.url, ...expired }).request('GET', day)),
      '401 AUTH_CERT_EXPIRED',
    );
    const card = new PaperCard(f.issuer);
    assert.equal(
      await code(
        new BankTerminalClient({ baseUrl: f.url, key: card.key, certificate: card.certificate }).request('GET', day),
      ),
      '401 AUTH_CERT_INVALID',
    );
    const p256 = f.issuer.terminal('T-p256', { algorithm: 'ecdsa-p256-sha256' });
    const ok = await new BankTerminalClient({ baseUrl: f.url, ...p256 }).request('GET', day);
    assert.equal(ok.status, 200);
    assert.equal(ok.json().terminalId, 'T-p256');
  });

  it('leaves health and the revocation list open', async () => {
    const h = await fetch(`${f.url}/v1/health`);
    assert.equal(h.status, 200);
    const body = (await h.json()) as { status: string; time: number };
    assert.equal(body.status, 'ok');
    assert.ok(Math.abs(body.time - NOW()) < 5, 'Math.abs(body.time - NOW()) < 5');
    assert.equal((await fetch(`${f.url}/v1/revocations`)).status, 200);
    const nf = await fetch(`${f.url}/v1/nothing`);
    assert.equal(nf.status, 404);
    assert.equal(((await nf.json()) as { error: { code: string } }).error.code, 'NOT_FOUND');
  });
});

async function wrap(r: Response): Promise<{ status: number; json(): any; headers: Headers; text: string }> {
  const text = await r.text();
  return { status: r.status, headers: r.headers, text, json: () => JSON.parse(text) };
}

describe('simulated bank: idempotency and crash safety', function () {
  let f: Fixture | undefined;
  afterEach(async () => {
    await stop(f);
    f = undefined;
  });

  it('replays the stored response byte for byte for the same key and body; 422 for another body; 400 without a key', async () => {
    f = await start();
    const a = new PaperCard(f.issuer);
    const id = batchId();
    const recs = [a.pay(100).envelope, a.pay(200).envelope];
    const first = await f.client.submitBatch(id, recs, [a.certificate.envelope]);
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('idempotent-replayed'), null);
    const second = await f.client.submitBatch(id, recs, [a.certificate.envelope]);
    assert.equal(second.status, 200);
    assert.equal(second.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(second.bytes, first.bytes);
    // the key is case-insensitive hex and may be sent as a structured-field string
    const quoted = await f.client.submitBatch(id, recs, [a.certificate.envelope], {
      idempotencyKey: `"${id.toUpperCase()}"`,
    });
    assert.equal(quoted.status, 200, quoted.text);
    assert.deepEqual(quoted.bytes, first.bytes);

    const other = await f.client.submitBatch(id, [recs[0]!], [a.certificate.envelope]);
    assert.equal(other.status, 422);
    assert.equal(other.json().error.code, 'IDEMPOTENCY_KEY_REUSED');
    assert.equal(f.bank.settledCount(), 2);

    const noKey = await f.client.request('POST', '/v1/batches', { body: { batchId: id, records: [] } });
    assert.equal(`${noKey.status} ${noKey.json().error.code}`, '400 IDEMPOTENCY_KEY_MISSING');
    const mismatch = await f.client.request('POST', '/v1/batches', {
      idempotencyKey: batchId(),
      body: { batchId: id, records: ['AA'] },
    });
    assert.equal(`${mismatch.status} ${mismatch.json().error.code}`, '400 BATCH_ID_MISMATCH');
    const badKey = await f.client.request('POST', '/v1/batches', {
      idempotencyKey: 'abc',
      body: { batchId: id, records: ['AA'] },
    });
    assert.equal(`${badKey.status} ${badKey.json().error.code}`, '400 IDEMPOTENCY_KEY_INVALID');
  });

  it('answers 409 while the same key is still being processed', async () => {
    f = await start({ faults: { latencyMs: 2000 } });
    const bank = f.bank; // read in the wait below, where TypeScript no longer narrows f
    const a = new PaperCard(f.issuer);
    const id = batchId();
    const recs = [a.pay(100).envelope];
    const slow = f.client.submitBatch(id, recs, [a.certificate.envelope]);
    // Wait until the bank is working on it (not a fixed sleep: a loaded machine may take longer to get there).
    await until(() => bank.inFlightRequests() > 0, 'the first request to reach the bank', 2500, 5);
    f.bank.setFaults({ latencyMs: 0 });
    const busy = await f.client.submitBatch(id, recs, [a.certificate.envelope]);
    assert.equal(busy.status, 409);
    assert.equal(busy.json().error.code, 'IDEMPOTENCY_KEY_IN_USE');
    assert.equal(busy.headers.get('retry-after'), '1');
    assert.equal((await slow).status, 200);
    const after = await f.client.submitBatch(id, recs, [a.certificate.envelope]);
    assert.equal(after.headers.get('idempotent-replayed'), 'true');
  });

  it('commits then drops the connection; the retry with the same key gets the committed answer, each record once — also after a restart', async () => {
    f = await start({ faults: { dropAfterCommitRate: 1, seed: 7 } });
    const a = new PaperCard(f.issuer);
    const id = batchId();
    const recs = [a.pay(100).envelope, a.pay(200).envelope, a.pay(300).envelope];
    await assert.rejects(f.client.submitBatch(id, recs, [a.certificate.envelope]));
    assert.equal(f.bank.settledCount(), 3); // committed although the client never heard
    const retry = await f.client.submitBatch(id, recs, [a.certificate.envelope]); // replays are not dropped
    assert.equal(retry.status, 200);
    assert.equal(retry.headers.get('idempotent-replayed'), 'true');
    const body = retry.json<BatchResponse>();
    assert.deepEqual(verdicts(body), ['accepted', 'accepted', 'accepted']);
    assert.deepEqual(body.accepted, { count: 3, amount: { 156: 600 } });

    // durable: a new bank on the same file answers the same bytes
    await f.bank.close();
    const bank2 = new SimBank({ ...f.opts, faults: {} });
    const { url } = await bank2.listen({ port: 0 });
    f.bank = bank2;
    const c2 = new BankTerminalClient({ baseUrl: url, ...f.term });
    const again = await c2.submitBatch(id, recs, [a.certificate.envelope]);
    assert.deepEqual(again.bytes, retry.bytes);
    // a different batch with the same records: duplicates, nothing credited twice
    const dup = await c2.submitBatch(batchId(), recs, []);
    assert.deepEqual(verdicts(dup.json()), ['duplicate', 'duplicate', 'duplicate']);
    assert.equal(bank2.settledCount(), 3);
  });
});

describe('simulated bank: kill -9', function () {
  it('a bank process killed right after a commit loses nothing; a new bank on the same file answers the retry', async function () {
    const issuer = new TestIssuer();
    const dir = mkdtempSync(path.join(tmpdir(), 'cardpost-bank-kill-'));
    const dbPath = path.join(dir, 'bank.sqlite');
    const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
    const child = path.join(dir, 'bank-child.mts');
    const bankModule = new URL('../../device-sim/bank/index.ts', import.meta.url).href;
    const recordModule = new URL('../../protocol/record/index.ts', import.meta.url).href;
    writeFileSync(
      child,
      `
      import { SimBank } from ${JSON.stringify(bankModule)};
      import { decodeCertificate } from ${JSON.stringify(recordModule)};
      const c = JSON.parse(process.argv[2]);
      const h = (s) => Uint8Array.from(Buffer.from(s, 'hex'));
      const bank = new SimBank({ dbPath: c.dbPath, issuerCertificate: decodeCertificate(h(c.ca)),
        authority: { key: { algorithm: c.alg, privateKey: h(c.priv), publicKey: h(c.pub) }, certificate: decodeCertificate(h(c.auth)) },
        faults: { dropAfterCommitRate: 1 } });
      const { port } = await bank.listen({ port: 0 });
      console.log('PORT ' + port);
    `,
    );
    const config = JSON.stringify({
      dbPath,
      ca: hex(issuer.certificate.envelope),
      auth: hex(issuer.authority.envelope),
      alg: issuer.authorityKey.algorithm,
      priv: hex(issuer.authorityKey.privateKey),
      pub: hex(issuer.authorityKey.publicKey),
    });
    const proc = spawn(process.execPath, ['--import', 'tsx', child, config], { stdio: ['ignore', 'pipe', 'inherit'] });
    let f2: SimBank | undefined;
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let out = '';
        proc.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /PORT (\d+)/.exec(out);
          if (m) resolve(Number(m[1]));
        });
        proc.once('exit', (code) => reject(new Error(`bank child exited ${code}`)));
      });
      const term = issuer.terminal('T-01');
      const client = new BankTerminalClient({ baseUrl: `http://127.0.0.1:${port}`, ...term });
      const a = new PaperCard(issuer);
      const id = batchId();
      const recs = [a.pay(100).envelope, a.pay(200).envelope];
      await assert.rejects(client.submitBatch(id, recs, [a.certificate.envelope])); // committed, then the socket dropped
      proc.kill('SIGKILL');
      await new Promise((r) => proc.once('exit', r));

      f2 = new SimBank({
        dbPath,
        issuerCertificate: issuer.certificate,
        authority: { key: issuer.authorityKey, certificate: issuer.authority },
      });
      const { url } = await f2.listen({ port: 0 });
      const retry = await new BankTerminalClient({ baseUrl: url, ...term }).submitBatch(id, recs, [
        a.certificate.envelope,
      ]);
      assert.equal(retry.status, 200);
      assert.equal(retry.headers.get('idempotent-replayed'), 'true');
      assert.deepEqual(verdicts(retry.json()), ['accepted', 'accepted']);
      assert.equal(f2.settledCount(), 2);
    } finally {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await f2?.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('simulated bank: top-ups and reconciliation', function () {
  let f: Fixture;
  beforeEach(async () => {
    f = await start();
  });
  afterEach(async () => {
    await stop(f);
  });

  it('issues a verifiable top-up token bounded by the settled counter; idempotent; conflicts refused', async () => {
    const a = new PaperCard(f.issuer);
    await settleOk(f, [a.pay(100), a.pay(100), a.pay(100)], [a.certificate]);
    const res = await f.client.topup('topup-1', {
      cardId: a.hex,
      loadSeq: 1,
      amount: 50_000,
      currency: 156,
      validForPayments: 20,
    });
    assert.equal(res.status, 200, res.text);
    const body = res.json();
    const token = decodeTopupToken(new Uint8Array(Buffer.from(body.token, 'base64url')));
    assert.deepEqual(new Uint8Array(Buffer.from(body.authority, 'base64url')), f.issuer.authority.envelope);
    assert.ok(
      verifyTopupToken(token, f.issuer.authority.algorithm, f.issuer.authority.publicKey),
      'verifyTopupToken(token, f.issuer.authority.algorithm, f.issuer.authority.publicKey)',
    );
    assert.equal(token.validUntilCounter, 3 + 20);
    assert.equal(token.amount, 50_000);
    assert.equal(token.loadSeq, 1);
    assert.equal(token.resetOffline, true);
    assert.deepEqual(token.cardId, a.cardId);

    const replay = await f.client.topup('topup-1', {
      cardId: a.hex,
      loadSeq: 1,
      amount: 50_000,
      currency: 156,
      validForPayments: 20,
    });
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(replay.bytes, res.bytes);
    // another key, same load: the same token
    const same = await f.client.topup('topup-1-again', { cardId: a.hex, loadSeq: 1, amount: 50_000, currency: 156 });
    assert.equal(same.json().token, body.token);
    const conflict = await f.client.topup('topup-1-other', {
      cardId: a.hex,
      loadSeq: 1,
      amount: 60_000,
      currency: 156,
    });
    assert.equal(`${conflict.status} ${conflict.json().error.code}`, '409 TOPUP_CONFLICT');
    const reuse = await f.client.topup('topup-1', { cardId: a.hex, loadSeq: 2, amount: 1, currency: 156 });
    assert.equal(`${reuse.status} ${reuse.json().error.code}`, '422 IDEMPOTENCY_KEY_REUSED');
    const wrongCur = await f.client.topup('topup-usd', { cardId: a.hex, loadSeq: 2, amount: 1, currency: 840 });
    assert.equal(`${wrongCur.status} ${wrongCur.json().error.code}`, '422 CURRENCY_UNSUPPORTED');
    const unknownCard = await f.client.topup('topup-new', {
      cardId: '00112233445566ff',
      loadSeq: 1,
      amount: 1,
      currency: 156,
    });
    assert.equal(
      decodeTopupToken(new Uint8Array(Buffer.from(unknownCard.json().token, 'base64url'))).validUntilCounter,
      1000,
    );
    const bad = await f.client.topup('topup-bad', { cardId: a.hex, loadSeq: 0, amount: 1, currency: 156 });
    assert.equal(`${bad.status} ${bad.json().error.code}`, '400 BODY_SCHEMA');
    const noKey = await f.client.request('POST', '/v1/topups', {
      body: { cardId: a.hex, loadSeq: 2, amount: 1, currency: 156 },
    });
    assert.equal(`${noKey.status} ${noKey.json().error.code}`, '400 IDEMPOTENCY_KEY_MISSING');
  });

  it('reports per-currency totals of this terminal for a UTC day (by settlement time) and for a range', async () => {
    let now = NOW();
    const issuer = f.issuer;
    await stop(f);
    f = await start({ clock: () => now }, issuer);
    const a = new PaperCard(f.issuer);
    const u = new PaperCard(f.issuer, { currency: 840 });
    await settleOk(f, [a.pay(100), a.pay(250), u.pay(1000, { currency: 840 })], [a.certificate, u.certificate]);
    // another terminal's sales are not ours
    const t2 = f.issuer.terminal('T-02');
    const c2 = new BankTerminalClient({ baseUrl: f.url, ...t2, clock: () => now });
    await settleOk(f, [a.pay(999, { terminalId: 'T-02' })], [], c2);
    const today = new Date(now * 1000).toISOString().slice(0, 10);
    const r = await f.client.request('GET', `/v1/reconciliation?date=${today}`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.json(), {
      date: today,
      terminalId: 'T-01',
      totals: [
        { currency: 156, count: 2, amount: 350 },
        { currency: 840, count: 1, amount: 1000 },
      ],
      reversals: [],
      refunds: [],
    });
    // settled tomorrow: counts for tomorrow only
    now += DAY;
    await settleOk(f, [a.pay(1)], []);
    const tomorrow = new Date(now * 1000).toISOString().slice(0, 10);
    assert.deepEqual((await f.client.request('GET', `/v1/reconciliation?date=${tomorrow}`)).json().totals, [
      { currency: 156, count: 1, amount: 1 },
    ]);
    const range = await f.client.request('GET', `/v1/reconciliation?from=${today}&to=${tomorrow}`);
    assert.deepEqual(range.json().totals, [
      { currency: 156, count: 3, amount: 351 },
      { currency: 840, count: 1, amount: 1000 },
    ]);
    assert.equal(range.json().from, today);
    // a shop's own day, [since, until) in Unix seconds (Asia/Shanghai: 16:00 UTC to 16:00 UTC): the last second out
    const since = now - DAY - 10;
    const shop = await f.client.request('GET', `/v1/reconciliation?since=${since}&until=${now}`);
    assert.deepEqual(shop.json().totals, [
      { currency: 156, count: 2, amount: 350 },
      { currency: 840, count: 1, amount: 1000 },
    ]);
    assert.equal(shop.json().since, String(since));
    const through = await f.client.request('GET', `/v1/reconciliation?since=${since}&until=${now + 1}`);
    assert.equal(through.json().totals[0].count, 3);
    for (const q of [
      '',
      '?date=2026-02-30',
      '?date=yesterday',
      `?date=${today}&from=${today}`,
      `?from=${tomorrow}&to=${today}`,
      '?date=a&date=b',
      `?since=${now}`,
      `?since=${now}&until=${now}`,
      `?since=-1&until=${now}`,
      `?since=1.5&until=${now}`,
      `?since=0&until=${400 * DAY}`,
      `?since=${since}&until=${now}&date=${today}`,
    ]) {
      const bad = await f.client.request('GET', `/v1/reconciliation${q}`);
      assert.equal(`${bad.status} ${bad.json().error.code}`, '400 QUERY_INVALID', q);
    }
  });
});

describe('simulated bank: fault injection', function () {
  let f: Fixture | undefined;
  afterEach(async () => {
    await stop(f);
    f = undefined;
  });

  it('errorRate answers 500/503 before doing anything, reproducibly from the seed', async () => {
    f = await start({ faults: { errorRate: 0.5, seed: 42 } });
    const a = new PaperCard(f.issuer);
    const run = async (): Promise<number[]> => {
      const out: number[] = [];
      for (let i = 0; i < 12; i++) out.push((await fetch(`${f!.url}/v1/health`)).status);
      return out;
    };
    const first = await run();
    f.bank.setFaults({ seed: 42 });
    assert.deepEqual(await run(), first);
    assert.ok(first.includes(200) && first.some((s) => s >= 500), first.join());
    assert.ok(
      first.every((s) => [200, 500, 503].includes(s)),
      'first.every((s) => [200, 500, 503].includes(s))',
    );
    f.bank.setFaults({ errorRate: 1 });
    const res = await f.client.submitBatch(batchId(), [a.pay(100).envelope], [a.certificate.envelope]);
    assert.ok(res.status === 500 || res.status === 503, 'res.status === 500 || res.status === 503');
    assert.equal(res.json().error.code, 'FAULT_INJECTED');
    assert.equal(f.bank.settledCount(), 0);
  });

  it('down answers 503 to everything; down "reset" drops connections; both recover', async () => {
    f = await start({ faults: { down: true } });
    const h = await fetch(`${f.url}/v1/health`);
    assert.equal(h.status, 503);
    assert.equal(((await h.json()) as { error: { code: string } }).error.code, 'BANK_DOWN');
    f.bank.setFaults({ down: 'reset' });
    await assert.rejects(fetch(`${f.url}/v1/health`)); // on the kept-alive connection
    await assert.rejects(fetch(`${f.url}/v1/health`, { headers: { connection: 'close' } })); // on a new one
    f.bank.setFaults({ down: false });
    assert.equal((await fetch(`${f.url}/v1/health`)).status, 200);
  });

  it('latencyMs delays answers; timeoutRate holds the socket until the client gives up; close() does not hang', async () => {
    f = await start({ faults: { latencyMs: 150 } });
    let t0 = performance.now();
    assert.equal((await fetch(`${f.url}/v1/health`)).status, 200);
    {
      const waited = performance.now() - t0;
      assert.ok(waited >= 130, `answered after ${waited} ms`);
    }
    f.bank.setFaults({ latencyMs: 0, timeoutRate: 1 });
    t0 = performance.now();
    await assert.rejects(fetch(`${f.url}/v1/health`, { signal: AbortSignal.timeout(300) }), /abort|timeout/i);
    {
      const waited = performance.now() - t0;
      assert.ok(waited >= 250, `gave up after ${waited} ms`);
    }
    // one more left hanging: close() must still finish promptly
    const hanging = fetch(`${f.url}/v1/health`).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 50));
    t0 = performance.now();
    await f.bank.close();
    assert.ok(performance.now() - t0 < 2000, 'performance.now() - t0 < 2000');
    assert.ok((await hanging) instanceof Error, '(await hanging) instanceof Error');
  });

  it('the admin endpoint exists only when enabled and changes faults', async () => {
    f = await start({ faults: { adminEndpoint: true } });
    const set = await fetch(`${f.url}/v1/_faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ down: true }),
    });
    assert.equal(set.status, 200);
    assert.equal(((await set.json()) as { down: boolean }).down, true);
    assert.equal((await fetch(`${f.url}/v1/health`)).status, 503);
    const bad = await fetch(`${f.url}/v1/_faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"errorRate": 2}',
    });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { error: { code: string } }).error.code, 'FAULTS_INVALID');
    const noAdmin = await fetch(`${f.url}/v1/_faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"adminEndpoint": false}',
    });
    assert.equal(noAdmin.status, 400);
    await fetch(`${f.url}/v1/_faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"down": false}',
    });
    assert.equal((await fetch(`${f.url}/v1/health`)).status, 200);
    await stop(f);
    f = await start();
    assert.equal(
      (
        await fetch(`${f.url}/v1/_faults`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"down": true}',
        })
      ).status,
      404,
    );
  });

  it('refuses a bad configuration at construction', () => {
    const issuer = new TestIssuer();
    const base = {
      dbPath: ':memory:',
      issuerCertificate: issuer.certificate,
      authority: { key: issuer.authorityKey, certificate: issuer.authority },
    };
    assert.throws(() => new SimBank({ ...base, issuerCertificate: issuer.authority }), /TRUST_ANCHOR|issuer CA/);
    assert.throws(
      () => new SimBank({ ...base, authority: { key: issuer.key, certificate: issuer.authority } }),
      /does not match/,
    );
    const t = issuer.terminal('T');
    assert.throws(() => new SimBank({ ...base, authority: t }), /kind/);
    assert.throws(() => new SimBank({ ...base, faults: { errorRate: -1 } }), /errorRate/);
  });
});

describe('simulated bank: documentation', function () {
  it('documents every reason and error code the bank can answer, in docs/bank-api.md and the OpenAPI file', () => {
    const md = readFileSync('docs/bank-api.md', 'utf8');
    const yaml = readFileSync('docs/bank-api.openapi.yaml', 'utf8');
    for (const reason of Object.values(REJECT_REASON)) {
      assert.ok(md.includes(`| \`${reason}\` |`), `${reason} missing from the reasons table of docs/bank-api.md`);
      assert.ok(yaml.includes(`- ${reason}\n`), `${reason} missing from RejectReason in the OpenAPI file`);
    }
    const src = ['device-sim/bank/sim-bank.ts', 'protocol/bank/authenticate.ts']
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n');
    const codes = new Set([
      ...[...src.matchAll(/(?:authError\(\s*|badRequest\(\s*|HttpError\(\s*(?:\d{3}|status),\s*)'([A-Z_]+)'/g)].map(
        (m) => m[1]!,
      ),
      ...[...src.matchAll(/\[\s*'([A-Z_]+)',\s/g)].map((m) => m[1]!),
      'BATCH_TOO_LARGE',
      'FAULTS_INVALID',
    ]);
    assert.ok(codes.size > 25, `${codes.size} codes found`);
    for (const c of codes) {
      assert.ok(md.includes(`\`${c}\``), `${c} missing from docs/bank-api.md §10`);
      assert.ok(yaml.includes(c), `${c} missing from the OpenAPI file`);
    }
  });
});
