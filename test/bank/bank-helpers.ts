/**
 * What the black-box bank tests share, whichever bank answers (the simulated bank or the clearing
 * service): a card without a card (PaperCard), batch ids, and the batch helpers.
 */
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { generateKeyPair, SIGNATURE_ALGORITHM_CODES } from '../../protocol/crypto/index.js';
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
  type TxnRecordFields,
} from '../../protocol/record/index.js';
import type { BatchResponse } from '../../device-sim/bank/index.js';
import type { BankTerminalClient } from '../../device-sim/bank/terminal-client.js';
import { TestIssuer, TEST_LIMITS, NOW } from '../support/issuer.js';

export const DAY = 86400;
export const batchId = (): string => randomBytes(16).toString('hex');

/** A card without a card: its key, certificate and hash chain, signing records directly. */
export class PaperCard {
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

/** Submit a batch under a fresh id with `client` (default: the fixture's terminal); it must answer 200. */
export async function settleOk(
  f: { client: BankTerminalClient },
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

export const verdicts = (b: BatchResponse): string[] =>
  b.results.map((r) => (r.verdict === 'rejected' ? `rejected:${r.reason}` : r.verdict));

export async function wrap(r: Response): Promise<{ status: number; json(): any; headers: Headers; text: string }> {
  const text = await r.text();
  return { status: r.status, headers: r.headers, text, json: () => JSON.parse(text) };
}
