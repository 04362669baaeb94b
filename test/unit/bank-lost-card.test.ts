import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { generateKeyPair, SIGNATURE_ALGORITHM_CODES } from '../../protocol/crypto/index.js';
import { toHex } from '../../protocol/bytes.js';
import { DecodeError } from '../../protocol/errors.js';
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
import {
  BankDecodeError,
  decodeLostCardAnswer,
  decodeLostCardRequest,
  decodeLostCardRequestBytes,
  encodeLostCardAnswer,
  encodeLostCardRequest,
  lostCardPath,
  type LostCardAnswer,
} from '../../protocol/bank/index.js';
import { SimBank } from '../../device-sim/bank/index.js';
import { BankTerminalClient } from '../../device-sim/bank/terminal-client.js';
import { TestIssuer, TEST_LIMITS, NOW, ascii } from '../support/issuer.js';

const DAY = 86400;

/** A card without a card: a key, a certificate and a hash chain, signing records at any time. */
function paperCard(issuer: TestIssuer) {
  const key: SigningKey = { algorithm: issuer.algorithm, ...generateKeyPair(issuer.algorithm) };
  const cardId = Uint8Array.from(randomBytes(8));
  const now = NOW();
  const certificate = issueCertificate(issuer.key, {
    serial: Uint8Array.of(7, 8),
    kind: CERT_KIND.CARD,
    subjectId: cardId,
    algorithm: SIGNATURE_ALGORITHM_CODES[issuer.algorithm],
    publicKey: key.publicKey,
    notBefore: now - DAY,
    notAfter: now + 365 * DAY,
    limits: TEST_LIMITS,
    currency: 156,
  });
  let prevHash: Uint8Array = ZERO_HASH;
  let counter = 0;
  let balance = 10_000;
  const pay = (amount: number, time = NOW()): SignedTxnRecord => {
    balance -= amount;
    const r = signTxnRecord(key.algorithm, key.privateKey, {
      cardId,
      counter: ++counter,
      amount,
      currency: 156,
      merchantId: 'M-shop',
      terminalId: 'T-01',
      time,
      hostNonce: Uint8Array.from(randomBytes(16)),
      balanceAfter: balance,
      prevHash,
      algorithm: SIGNATURE_ALGORITHM_CODES[key.algorithm],
      cvm: CVM.NONE,
    });
    prevHash = r.hash;
    return r;
  };
  return { hex: toHex(cardId), certificate, pay };
}

function issuerService(issuer: TestIssuer, url: string): BankTerminalClient {
  const key: SigningKey = { algorithm: issuer.algorithm, ...generateKeyPair(issuer.algorithm) };
  const now = NOW();
  const certificate: Certificate = issueCertificate(issuer.key, {
    serial: Uint8Array.of(9, 8),
    kind: CERT_KIND.ISSUER_SERVICE,
    subjectId: ascii('back office'),
    algorithm: SIGNATURE_ALGORITHM_CODES[issuer.algorithm],
    publicKey: key.publicKey,
    notBefore: now - DAY,
    notAfter: now + 365 * DAY,
  });
  return new BankTerminalClient({ baseUrl: url, key, certificate });
}

describe('protocol/bank/lost-card: the lost-card codec', () => {
  const answer: LostCardAnswer = {
    cardId: '8f2a0c11d3e45b70',
    reason: 'stolen',
    reportedAt: 1_790_000_000,
    reportedBy: { kind: 'terminal', id: 'T-01' },
    alreadyReported: false,
    revocationSequence: 3,
    balance: 42_000,
    balanceCounter: 7,
    currency: 156,
  };

  it('round-trips the request and the answer', () => {
    const bytes = encodeLostCardRequest({ reason: 'stolen' });
    assert.equal(new TextDecoder().decode(bytes), '{"reason":"stolen"}');
    assert.deepEqual(decodeLostCardRequestBytes(bytes), { reason: 'stolen' });
    assert.deepEqual(decodeLostCardAnswer(JSON.parse(encodeLostCardAnswer(answer)), { cardId: answer.cardId }), answer);
    const none = { ...answer, balance: null, balanceCounter: 0, currency: null };
    assert.deepEqual(
      decodeLostCardAnswer(JSON.parse(encodeLostCardAnswer(none)), { cardId: '8F2A0C11D3E45B70' }),
      none,
    );
    assert.equal(lostCardPath('8F2A0C11D3E45B70'), '/v1/cards/8f2a0c11d3e45b70/lost');
    assert.throws(() => lostCardPath('8f2a'), /16 hex/);
    assert.throws(() => encodeLostCardRequest({ reason: 'gone' as 'lost' }), /reason/);
  });

  it('refuses malformed requests with BODY_* codes', () => {
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        assert.ok(e instanceof BankDecodeError, String(e));
        return e.code;
      }
      return 'ok';
    };
    assert.equal(
      code(() => decodeLostCardRequestBytes(new Uint8Array())),
      'BODY_MISSING',
    );
    assert.equal(
      code(() => decodeLostCardRequestBytes(ascii('{"reason":'))),
      'BODY_NOT_JSON',
    );
    assert.equal(
      code(() => decodeLostCardRequestBytes(Uint8Array.of(0xff))),
      'BODY_NOT_JSON',
    );
    for (const bad of [null, [], 'lost', 1, {}, { reason: 'LOST' }, { reason: 1 }, { reason: 'lost', cardId: 'x' }])
      assert.equal(
        code(() => decodeLostCardRequest(bad)),
        'BODY_SCHEMA',
        JSON.stringify(bad),
      );
  });

  it('refuses an answer that breaks §13 (ANSWER_SCHEMA) or is for another card (ANSWER_MISMATCH)', () => {
    const code = (v: unknown, cardId = answer.cardId) => {
      try {
        decodeLostCardAnswer(v, { cardId });
      } catch (e) {
        assert.ok(e instanceof BankDecodeError, String(e));
        return e.code;
      }
      return 'ok';
    };
    const base = JSON.parse(encodeLostCardAnswer(answer)) as Record<string, unknown>;
    assert.equal(code(base), 'ok');
    assert.equal(code(base, '0000000000000000'), 'ANSWER_MISMATCH');
    for (const [k, v] of [
      ['cardId', 'XYZ'],
      ['reason', 'misplaced'],
      ['reportedAt', -1],
      ['reportedBy', { kind: 'thief', id: 'x' }],
      ['reportedBy', null],
      ['alreadyReported', 'no'],
      ['revocationSequence', 0],
      ['balance', null],
      ['balance', 1.5],
      ['balanceCounter', -1],
      ['currency', 1000],
    ] as const)
      assert.equal(code({ ...base, [k]: v }), 'ANSWER_SCHEMA', `${k}=${JSON.stringify(v)}`);
    assert.equal(code({ ...base, balanceCounter: 0 }), 'ANSWER_SCHEMA', 'a balance without a record');
    for (const v of [null, [], 'x', 3]) assert.equal(code(v), 'ANSWER_SCHEMA');
  });

  it('fuzz: random JSON gives a value or a DecodeError, never anything else', () => {
    let seed = 14;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const atoms = [null, true, 0, -1, 1.5, 2 ** 53, '', 'lost', 'stolen', 'T-01', '8f2a0c11d3e45b70', [], {}];
    const value = (depth: number): unknown => {
      if (depth > 2 || rnd() < 0.5) return atoms[Math.floor(rnd() * atoms.length)];
      const o: Record<string, unknown> = {};
      const keys = Object.keys(answer).concat(['reason', 'kind', 'id', 'x']);
      for (let i = Math.floor(rnd() * 10); i > 0; i--) o[keys[Math.floor(rnd() * keys.length)]!] = value(depth + 1);
      return o;
    };
    for (let i = 0; i < 3000; i++) {
      const v = i % 3 === 0 ? { ...JSON.parse(encodeLostCardAnswer(answer)), ...(value(1) as object) } : value(0);
      for (const f of [() => decodeLostCardRequest(v), () => decodeLostCardAnswer(v, { cardId: answer.cardId })]) {
        try {
          f();
        } catch (e) {
          assert.ok(e instanceof DecodeError, `${JSON.stringify(v)}: ${String(e)}`);
        }
      }
    }
  });
});

describe('simulated bank: POST /v1/cards/{cardId}/lost', function () {
  this.timeout(30_000);
  let dir: string;
  let bank: SimBank;
  let url: string;
  const issuer = new TestIssuer();
  let t1: BankTerminalClient;

  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'cardpost-bank-lost-'));
    bank = new SimBank({
      dbPath: path.join(dir, 'bank.sqlite'),
      issuerCertificate: issuer.certificate,
      authority: { key: issuer.authorityKey, certificate: issuer.authority },
    });
    url = (await bank.listen()).url;
    t1 = new BankTerminalClient({ baseUrl: url, ...issuer.terminal('T-01') });
  });
  afterEach(async () => {
    await bank.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const settle = async (records: SignedTxnRecord[], cert: Certificate) => {
    const res = await t1.submitBatch(
      randomBytes(16).toString('hex'),
      records.map((r) => r.envelope),
      [cert.envelope],
    );
    assert.equal(res.status, 200, res.text);
    return res.json<{ results: { verdict: string; reason?: string }[] }>().results;
  };
  const report = (client: BankTerminalClient, cardId: string, key: string, reason = 'lost') =>
    client.request('POST', `/v1/cards/${cardId}/lost`, { body: { reason }, idempotencyKey: key });

  it('revokes the card, records the balance, and settles later only what was signed before the report', async () => {
    const card = paperCard(issuer);
    assert.deepEqual(
      (await settle([card.pay(1000), card.pay(500)], card.certificate)).map((r) => r.verdict),
      ['accepted', 'accepted'],
    );
    const before = card.pay(200, NOW() - 60); // signed offline before the report, not yet at the bank
    const seq0 = bank.revocationList().sequence;
    const res = await report(t1, card.hex, 'report-1', 'stolen');
    assert.equal(res.status, 200, res.text);
    const a = res.json<LostCardAnswer>();
    assert.equal(a.balance, 8_500);
    assert.equal(a.balanceCounter, 2);
    assert.equal(a.revocationSequence, seq0 + 1);
    assert.equal(bank.revocationList().sequence, seq0 + 1);
    assert.ok(bank.revocationList().revoked.map(toHex).includes(card.hex));
    assert.deepEqual(a.reportedBy, { kind: 'terminal', id: 'T-01' });

    // same key, same body: the stored answer byte for byte; same key, another card: not a replay
    const replay = await report(t1, card.hex, 'report-1', 'stolen');
    assert.equal(replay.text, res.text);
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');
    assert.equal((await report(t1, '0000000000000000', 'report-1', 'stolen')).json().error.code, 'CARD_NOT_FOUND');
    assert.equal((await report(t1, card.hex, 'report-1', 'lost')).json().error.code, 'IDEMPOTENCY_KEY_REUSED');

    const after = card.pay(300, NOW() + 5); // signed after the report: a thief at a counter with an old list
    const v = await settle([before, after], card.certificate);
    assert.deepEqual(
      v.map((r) => (r.verdict === 'rejected' ? `rejected:${r.reason}` : r.verdict)),
      ['accepted', 'rejected:REVOKED'],
    );
    const again = (await report(t1, card.hex, 'report-2')).json<LostCardAnswer>();
    assert.equal(again.alreadyReported, true);
    assert.equal(again.reason, 'stolen');
    assert.equal(again.balance, 8_300, 'the balance follows the record signed before the report');
    assert.equal(again.balanceCounter, 3);
    assert.equal(bank.revocationList().sequence, seq0 + 1);
    assert.equal(bank.lostCards()[0]!.balanceAtReport, 8_500);
    assert.equal(bank.lostCards()[0]!.balance, 8_300);
  });

  it('a card revoked for a double spend stays closed: a lost report does not reopen its earlier records', async () => {
    const card = paperCard(issuer);
    const r1 = card.pay(100);
    await settle([r1], card.certificate);
    bank.revokeCard(card.hex, 'double spend');
    const early = card.pay(100, NOW() - 30);
    assert.equal((await report(t1, card.hex, 'k')).status, 200);
    assert.equal((await settle([early], card.certificate))[0]!.reason, 'REVOKED');
  });

  it('who may report: terminals and the issuer service of this issuer; nobody else', async () => {
    const card = paperCard(issuer);
    await settle([card.pay(100)], card.certificate);
    const unsigned = await t1.request('POST', `/v1/cards/${card.hex}/lost`, {
      body: { reason: 'lost' },
      idempotencyKey: 'k',
      unsigned: true,
    });
    assert.equal(unsigned.status, 401);
    assert.equal(unsigned.json().error.code, 'AUTH_MISSING');
    const other = new TestIssuer();
    const foreign = new BankTerminalClient({ baseUrl: url, ...other.terminal('T-01') });
    const f = await report(foreign, card.hex, 'k');
    assert.equal(f.status, 401);
    assert.equal(f.json().error.code, 'AUTH_CERT_UNKNOWN_ISSUER');
    assert.ok(!bank.revokedCards().includes(card.hex));

    const svc = issuerService(issuer, url);
    const s = await report(svc, card.hex, 'k'); // the same key as T-01 would use: keys are per caller
    assert.equal(s.status, 200, s.text);
    assert.deepEqual(s.json<LostCardAnswer>().reportedBy, { kind: 'issuer', id: 'back office' });
    assert.equal(bank.lostCards()[0]!.reporterKind, 'issuer');
  });

  it('refuses malformed reports with typed 4xx and changes nothing', async () => {
    const card = paperCard(issuer);
    await settle([card.pay(100)], card.certificate);
    const cases: [string, unknown, string | undefined, number, string][] = [
      ['/v1/cards/xyz/lost', { reason: 'lost' }, 'k', 400, 'PATH_INVALID'],
      [`/v1/cards/${card.hex}/lost`, { reason: 'gone' }, 'k', 400, 'BODY_SCHEMA'],
      [`/v1/cards/${card.hex}/lost`, { reason: 'lost', amount: 1 }, 'k', 400, 'BODY_SCHEMA'],
      [`/v1/cards/${card.hex}/lost`, '{"reason"', 'k', 400, 'BODY_NOT_JSON'],
      [`/v1/cards/${card.hex}/lost`, { reason: 'lost' }, undefined, 400, 'IDEMPOTENCY_KEY_MISSING'],
      [`/v1/cards/${card.hex}/lost`, { reason: 'lost' }, 'bad"key', 400, 'IDEMPOTENCY_KEY_INVALID'],
      ['/v1/cards/0123456789abcdef/lost', { reason: 'lost' }, 'k', 404, 'CARD_NOT_FOUND'],
    ];
    for (const [p, body, key, status, code] of cases) {
      const res = await t1.request('POST', p, { body, ...(key !== undefined ? { idempotencyKey: key } : {}) });
      assert.equal(res.status, status, `${p} ${JSON.stringify(body)}: ${res.text}`);
      assert.equal(res.json().error.code, code);
    }
    assert.deepEqual(bank.revokedCards(), []);
    assert.deepEqual(bank.lostCards(), []);
  });
});
