import { randomBytes } from 'node:crypto';
import { generateKeyPair, SIGNATURE_ALGORITHM_CODES } from '../../protocol/crypto/index.js';
import { toHex } from '../../protocol/bytes.js';
import {
  CERT_KIND,
  CVM,
  issueCertificate,
  signTxnRecord,
  ZERO_HASH,
  type Certificate,
  type Cvm,
  type SignedTxnRecord,
  type SigningKey,
} from '../../protocol/record/index.js';
import type { Limits } from '../../protocol/commands/index.js';

const LIMITS: Limits = {
  perTransaction: 200_000,
  noPin: 10_000,
  offlineAmount: 1_000_000,
  offlineCount: 500,
  maxBalance: 10_000_000,
};

/**
 * A card made in software for queue and settlement tests: a key, a kind-2 certificate from a real
 * issuer CA, and a hash chain of genuinely signed records. Hundreds of records in milliseconds,
 * where a simulated card through the whole sale flow would take seconds.
 */
export class ForgedCard {
  private counter = 0;
  private prev: Uint8Array = ZERO_HASH;
  private balance = 5_000_000;

  private constructor(
    readonly cardIdBytes: Uint8Array,
    readonly key: SigningKey,
    readonly certificate: Certificate,
  ) {}

  static issue(ca: SigningKey, o: { currency?: number; cardId?: Uint8Array; serial?: number } = {}): ForgedCard {
    const cardId = o.cardId ?? Uint8Array.from(randomBytes(8));
    const key: SigningKey = { algorithm: ca.algorithm, ...generateKeyPair(ca.algorithm) };
    const now = Math.floor(Date.now() / 1000);
    const serial = o.serial ?? randomBytes(2).readUInt16BE(0) | 0x100;
    const certificate = issueCertificate(ca, {
      serial: Uint8Array.of(serial >> 8, serial & 0xff),
      kind: CERT_KIND.CARD,
      subjectId: cardId,
      algorithm: SIGNATURE_ALGORITHM_CODES[ca.algorithm],
      publicKey: key.publicKey,
      notBefore: now - 3600,
      notAfter: now + 86400 * 365,
      limits: LIMITS,
      currency: o.currency ?? 156,
    });
    return new ForgedCard(cardId, key, certificate);
  }

  get cardId(): string {
    return toHex(this.cardIdBytes);
  }
  get lastCounter(): number {
    return this.counter;
  }

  /** The next record of this card's chain. */
  sign(f: {
    terminalId: string;
    merchantId?: string;
    amount?: number;
    currency?: number;
    time?: number;
    cvm?: Cvm;
  }): SignedTxnRecord {
    const amount = f.amount ?? 100;
    this.balance -= amount;
    const r = this.signAt(this.counter + 1, this.prev, { ...f, amount });
    this.counter = r.counter;
    this.prev = r.hash;
    return r;
  }

  /** A record at any counter and prevHash, outside the chain (forks, stale heads). */
  signAt(
    counter: number,
    prevHash: Uint8Array,
    f: {
      terminalId: string;
      merchantId?: string;
      amount?: number;
      currency?: number;
      time?: number;
      cvm?: Cvm;
      nonce?: Uint8Array;
    },
  ): SignedTxnRecord {
    return signTxnRecord(this.key.algorithm, this.key.privateKey, {
      cardId: this.cardIdBytes,
      counter,
      amount: f.amount ?? 100,
      currency: f.currency ?? 156,
      merchantId: f.merchantId ?? 'M-TEST',
      terminalId: f.terminalId,
      time: f.time ?? Math.floor(Date.now() / 1000),
      hostNonce: f.nonce ?? Uint8Array.from(randomBytes(16)),
      balanceAfter: Math.max(0, this.balance),
      prevHash: counter === 1 ? ZERO_HASH : prevHash,
      algorithm: SIGNATURE_ALGORITHM_CODES[this.key.algorithm],
      cvm: f.cvm ?? CVM.NONE,
    });
  }
}
