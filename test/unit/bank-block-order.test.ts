import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { generateKeyPair, SIGNATURE_ALGORITHM_CODES } from '../../protocol/crypto/index.js';
import { toHex } from '../../protocol/bytes.js';
import {
  BLOCK_REASON,
  CERT_KIND,
  CVM,
  ZERO_HASH,
  issueCertificate,
  signBlockOrder,
  signTxnRecord,
  verifyBlockOrder,
  type SigningKey,
} from '../../protocol/record/index.js';
import {
  BankDecodeError,
  blockOrderPath,
  decodeBlockOrderAnswer,
  encodeBlockOrderAnswer,
} from '../../protocol/bank/index.js';
import { SimBank } from '../../device-sim/bank/index.js';
import { BankTerminalClient } from '../../device-sim/bank/terminal-client.js';
import { TestIssuer, TEST_LIMITS, NOW } from '../support/issuer.js';

const DAY = 86400;

const code = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    if (e instanceof BankDecodeError) return e.code;
    throw e;
  }
  return 'decoded';
};

describe('bank API codec: GET /v1/cards/{cardId}/block-order (docs/bank-api.md §14)', () => {
  const issuer = new TestIssuer();
  const cardId = Uint8Array.of(0x8f, 0x2a, 0x0c, 0x11, 0xd3, 0xe4, 0x5b, 0x70);
  const order = signBlockOrder(issuer.authorityKey, {
    cardId,
    reason: BLOCK_REASON.LOST,
    issuedAt: 1_790_000_000,
    listSequence: 4,
  });
  const fields = {
    cardId: toHex(cardId),
    reason: 'lost' as const,
    issuedAt: 1_790_000_000,
    revocationSequence: 4,
    order: order.envelope,
    authority: issuer.authority.envelope,
  };

  it('round-trips; the path is lower case and refuses a bad card id', () => {
    const a = decodeBlockOrderAnswer(JSON.parse(encodeBlockOrderAnswer(fields)), { cardId: '8F2A0C11D3E45B70' });
    assert.equal(a.reason, 'lost');
    assert.deepEqual(a.order.envelope, order.envelope);
    assert.equal(a.authority.kind, CERT_KIND.AUTHORITY);
    assert.equal(blockOrderPath('8F2A0C11D3E45B70'), '/v1/cards/8f2a0c11d3e45b70/block-order');
    assert.throws(() => blockOrderPath('8f2a'), /16 hex digits/);
  });

  it('refuses an answer that disagrees with its order, is for another card, or does not decode', () => {
    const json = (over: Record<string, unknown>) => ({ ...JSON.parse(encodeBlockOrderAnswer(fields)), ...over });
    const expect = { cardId: toHex(cardId) };
    assert.equal(
      code(() => decodeBlockOrderAnswer(json({ reason: 'stolen' }), expect)),
      'ANSWER_SCHEMA',
    );
    assert.equal(
      code(() => decodeBlockOrderAnswer(json({ reason: 'misplaced' }), expect)),
      'ANSWER_SCHEMA',
    );
    assert.equal(
      code(() => decodeBlockOrderAnswer(json({ revocationSequence: 5 }), expect)),
      'ANSWER_SCHEMA',
    );
    assert.equal(
      code(() => decodeBlockOrderAnswer(json({ order: 'AAAA' }), expect)),
      'ANSWER_SCHEMA',
    );
    assert.equal(
      code(() => decodeBlockOrderAnswer(json({ authority: '' }), expect)),
      'ANSWER_SCHEMA',
    );
    assert.equal(
      code(() => decodeBlockOrderAnswer([], expect)),
      'ANSWER_SCHEMA',
    );
    assert.equal(
      code(() => decodeBlockOrderAnswer(json({}), { cardId: '0000000000000000' })),
      'ANSWER_MISMATCH',
    );
  });
});

describe('simulated bank: GET /v1/cards/{cardId}/block-order', function () {
  this.timeout(30_000);
  let dir: string;
  let bank: SimBank;
  let url: string;
  const issuer = new TestIssuer();
  let t1: BankTerminalClient;

  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'cardpost-bank-block-'));
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

  /** A card the bank knows: one settled record and its certificate. */
  async function knownCard(): Promise<string> {
    const key: SigningKey = { algorithm: issuer.algorithm, ...generateKeyPair(issuer.algorithm) };
    const cardId = Uint8Array.from(randomBytes(8));
    const certificate = issueCertificate(issuer.key, {
      serial: Uint8Array.of(7, 9),
      kind: CERT_KIND.CARD,
      subjectId: cardId,
      algorithm: SIGNATURE_ALGORITHM_CODES[issuer.algorithm],
      publicKey: key.publicKey,
      notBefore: NOW() - DAY,
      notAfter: NOW() + 365 * DAY,
      limits: TEST_LIMITS,
      currency: 156,
    });
    const r = signTxnRecord(key.algorithm, key.privateKey, {
      cardId,
      counter: 1,
      amount: 100,
      currency: 156,
      merchantId: 'M',
      terminalId: 'T-01',
      time: NOW(),
      hostNonce: Uint8Array.from(randomBytes(16)),
      balanceAfter: 900,
      prevHash: ZERO_HASH,
      algorithm: SIGNATURE_ALGORITHM_CODES[key.algorithm],
      cvm: CVM.NONE,
    });
    const res = await t1.submitBatch(randomBytes(16).toString('hex'), [r.envelope], [certificate.envelope]);
    assert.equal(res.status, 200, res.text);
    return toHex(cardId);
  }

  it('answers the signed order of a card reported stolen, verifiable under the authority certificate it carries', async () => {
    const card = await knownCard();
    const rep = await t1.request('POST', `/v1/cards/${card}/lost`, {
      body: { reason: 'stolen' },
      idempotencyKey: 'k1',
    });
    assert.equal(rep.status, 200, rep.text);
    const res = await t1.request('GET', `/v1/cards/${card.toUpperCase()}/block-order`);
    assert.equal(res.status, 200, res.text);
    const a = decodeBlockOrderAnswer(res.json(), { cardId: card });
    assert.equal(a.reason, 'stolen');
    assert.equal(a.order.reason, BLOCK_REASON.STOLEN);
    assert.equal(a.revocationSequence, bank.revocationList().sequence);
    assert.ok(verifyBlockOrder(a.order, a.authority.algorithm, a.authority.publicKey));
    assert.deepEqual(a.authority.envelope, issuer.authority.envelope);
  });

  it('a double spend gives a fraud order, the operator a withdrawal', async () => {
    const a = await knownCard();
    const b = await knownCard();
    bank.revokeCard(a, 'double spend at counter 3');
    bank.revokeCard(b);
    const reason = async (card: string) =>
      decodeBlockOrderAnswer((await t1.request('GET', `/v1/cards/${card}/block-order`)).json(), { cardId: card })
        .reason;
    assert.equal(await reason(a), 'fraud');
    assert.equal(await reason(b), 'withdrawn');
  });

  it('404 CARD_NOT_REVOKED for a card not on the list, 400 PATH_INVALID, 401 without a terminal signature or with a non-terminal certificate', async () => {
    const card = await knownCard();
    const none = await t1.request('GET', `/v1/cards/${card}/block-order`);
    assert.equal(none.status, 404);
    assert.equal(none.json().error.code, 'CARD_NOT_REVOKED');
    bank.revokeCard(card);
    assert.equal((await t1.request('GET', '/v1/cards/xyz/block-order')).json().error.code, 'PATH_INVALID');
    const unsigned = await t1.request('GET', `/v1/cards/${card}/block-order`, { unsigned: true });
    assert.equal(unsigned.status, 401);
    assert.equal(unsigned.json().error.code, 'AUTH_MISSING');
    const stranger = new BankTerminalClient({ baseUrl: url, ...new TestIssuer().terminal('T-X') });
    assert.equal(
      (await stranger.request('GET', `/v1/cards/${card}/block-order`)).json().error.code,
      'AUTH_CERT_UNKNOWN_ISSUER',
    );
    // an authority (kind 4) key is not a terminal
    const asAuthority = new BankTerminalClient({
      baseUrl: url,
      key: issuer.authorityKey,
      certificate: issuer.authority,
    });
    assert.equal(
      (await asAuthority.request('GET', `/v1/cards/${card}/block-order`)).json().error.code,
      'AUTH_CERT_INVALID',
    );
  });
});
