/**
 * The clearing service of one API process (docs/clearing.md "Front ends"): verification outside any
 * transaction, then one ledger transaction per batch. It holds no state a second process would need:
 * every process in front of the same database is interchangeable, so a process may die at any point
 * (what is not committed is retried by its terminal with the same batch id).
 */
import { bytesEqual, fromHex, toHex } from '../../protocol/bytes.js';
import { SIGNATURE_ALGORITHM_CODES } from '../../protocol/crypto/index.js';
import { CardpostError } from '../../protocol/errors.js';
import {
  CERT_KIND,
  TrustStore,
  decodeTxnRecord,
  keyId,
  signRevocationList,
  verifyCertificate,
  type Certificate,
  type SigningKey,
} from '../../protocol/record/index.js';
import { fromBase64url } from '../../protocol/bank/terminal-auth.js';
import { CertificateCache, precheck, type Prechecked } from '../../protocol/bank/verify-records.js';
import type { ClearingCore, SettleBatchRequest, SettledBatch } from './clearing-core.js';
import type { BatchItem, ClearingLedger, CurrencyTotal } from './ledger.js';
import { checkCardId } from './settle-batch.js';

export interface ClearingServiceOptions {
  ledger: ClearingLedger;
  /** The issuer CA (kind 1): trust anchor for card and terminal certificates. */
  issuerCertificate: Certificate;
  /** The bank authority (kind 4, issued by that CA): signs the revocation list. */
  authority: { key: SigningKey; certificate: Certificate };
  /** Records older than this (by record time) are RECORD_EXPIRED. Default 30. */
  settlementWindowDays?: number;
  /** Unix seconds; injected by tests. */
  clock?: () => number;
}

const unixNow = (): number => Math.floor(Date.now() / 1000);

/** What the ledger needs of a verified record (the verifier's output). */
function toItem(p: Prechecked): BatchItem {
  if ('final' in p) return { index: p.index, refused: p.final };
  const r = p.record;
  return {
    index: p.index,
    record: {
      cardId: p.cardId,
      counter: r.counter,
      envelope: r.envelope,
      hash: r.hash,
      prevHash: r.prevHash,
      amount: r.amount,
      currency: r.currency,
      merchantId: r.merchantId,
      terminalId: r.terminalId,
      time: r.time,
      ...(r.reverses !== undefined ? { reverses: r.reverses } : {}),
      ...(p.certFromBatch ? { certificateFromBatch: p.certificate.envelope } : {}),
    },
  };
}

/** The card ids a batch's records name (undecodable ones are skipped: the verifier refuses them itself). */
function cardIdsOf(records: readonly string[]): string[] {
  const ids = new Set<string>();
  for (const text of records) {
    const bytes = fromBase64url(text);
    if (!bytes) continue;
    try {
      ids.add(toHex(decodeTxnRecord(bytes).cardId));
    } catch (e) {
      if (!(e instanceof CardpostError)) throw e;
    }
  }
  return [...ids];
}

export class ClearingService implements ClearingCore {
  readonly trust = new TrustStore();
  private readonly certs: CertificateCache;
  private readonly clock: () => number;
  private readonly windowSeconds: number;
  private readonly issuerKeyId: Uint8Array;
  private signedList: { sequence: number; cards: string; envelope: Uint8Array } | undefined;

  constructor(private readonly o: ClearingServiceOptions) {
    const days = o.settlementWindowDays ?? 30;
    if (!(days > 0))
      throw new CardpostError('BANK_CONFIG', `settlementWindowDays must be positive, not ${days}`, 'use e.g. 30');
    this.windowSeconds = Math.round(days * 86400);
    this.clock = o.clock ?? unixNow;
    this.trust.addIssuer(o.issuerCertificate); // TRUST_ANCHOR_INVALID for a non-CA
    this.issuerKeyId = keyId(o.issuerCertificate.algorithm, o.issuerCertificate.publicKey);
    const a = o.authority;
    const chk = verifyCertificate(a.certificate, o.issuerCertificate, { kind: CERT_KIND.AUTHORITY });
    if (!chk.ok)
      throw new CardpostError(
        'BANK_CONFIG',
        `the authority certificate is not a kind 4 certificate of this issuer: ${chk.detail}`,
        'issue the bank authority certificate with the issuer CA',
      );
    if (
      !bytesEqual(a.certificate.publicKey, a.key.publicKey) ||
      a.certificate.algorithm !== SIGNATURE_ALGORITHM_CODES[a.key.algorithm]
    )
      throw new CardpostError(
        'BANK_CONFIG',
        'the authority key does not match the authority certificate',
        'pass the key the certificate was issued for',
      );
    this.certs = new CertificateCache(this.trust);
  }

  get ledger(): ClearingLedger {
    return this.o.ledger;
  }

  now(): number {
    return this.clock();
  }

  async settle(req: SettleBatchRequest): Promise<SettledBatch> {
    // A replay costs one read and no crypto; a lost race with a concurrent first settlement is
    // resolved by the ledger's key row (the second transaction waits, then replays).
    const stored = await this.o.ledger.storedAnswer(req.terminalId, req.batchId);
    if (stored && bytesEqual(stored.bodyHash, req.bodyHash)) return replayed(stored.answer);
    // Certificates on file, read before verifying: a stale read is harmless (a certificate is
    // only ever added, and it was verified when it was stored).
    const onFile = await this.o.ledger.cardCertificates(cardIdsOf(req.records));
    const checked = precheck(
      { terminalId: req.terminalId, storedCertificate: (id) => onFile.get(id), certs: this.certs },
      req.records,
      req.certificates,
    );
    const out = await this.o.ledger.settleBatch({
      terminalId: req.terminalId,
      batchId: req.batchId,
      bodyHash: req.bodyHash,
      items: checked.map(toItem),
      now: this.clock(),
      windowSeconds: this.windowSeconds,
    });
    return out.kind === 'replayed'
      ? replayed(out.answer)
      : { answer: out.answer, response: out.response, replayed: false };
  }

  totals(
    terminalId: string,
    from: number,
    to: number,
  ): Promise<{ sales: CurrencyTotal[]; reversals: CurrencyTotal[] }> {
    return this.o.ledger.totals(terminalId, from, to);
  }

  /** The operator revokes a card. false if it was already revoked. */
  async revokeCard(cardIdHex: string, reason = 'revoked by the operator'): Promise<boolean> {
    const id = cardIdHex.toLowerCase();
    checkCardId(id);
    return this.o.ledger.revokeCard(id, reason, this.clock());
  }

  /**
   * The signed revocation list, derived from the ledger's revocations (so any process signs the same
   * content, and a crash between a revocation's commit and a publication loses nothing). Its sequence
   * is the number of revoked cards + 1: revocations are never removed, so it only grows.
   */
  async revocationList(): Promise<{ sequence: number; envelope: Uint8Array }> {
    const revoked = await this.o.ledger.revokedCards();
    const sequence = revoked.length + 1;
    const cards = revoked.join();
    if (this.signedList?.sequence !== sequence || this.signedList.cards !== cards) {
      const list = signRevocationList(this.o.authority.key, {
        issuerKeyId: this.issuerKeyId,
        sequence,
        issuedAt: this.clock(),
        revoked: revoked.map(fromHex),
      });
      this.signedList = { sequence, cards, envelope: list.envelope };
    }
    return { sequence, envelope: this.signedList.envelope };
  }
}

function replayed(answer: string): SettledBatch {
  return { answer, response: JSON.parse(answer) as SettledBatch['response'], replayed: true };
}
