/**
 * The clearing service of one API process (docs/clearing.md "Front ends"): verification outside any
 * transaction, then one ledger transaction per batch. It holds no state a second process would need:
 * every process in front of the same database is interchangeable, so a process may die at any point
 * (what is not committed is retried by its terminal with the same batch id).
 */
import { checkBankAuthority } from '../../protocol/bank/bank-keys.js';
import { bytesEqual, fromHex } from '../../protocol/bytes.js';
import { CardpostError } from '../../protocol/errors.js';
import {
  TrustStore,
  keyId,
  signRevocationList,
  type Certificate,
  type SigningKey,
} from '../../protocol/record/index.js';
import { REJECT_REASON } from '../../protocol/bank/verdicts.js';
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
export function batchItemOf(p: Prechecked): BatchItem {
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
      ...(p.certFromBatch
        ? { certificateFromBatch: p.certificate.envelope, certificateNotAfter: p.certificate.notAfter }
        : {}),
    },
  };
}

/** Refusals a certificate on file could turn into another verdict. */
const CERTIFICATE_REASONS: ReadonlySet<string> = new Set([
  REJECT_REASON.CERT_MISSING,
  REJECT_REASON.CERT_INVALID,
  REJECT_REASON.CERT_UNKNOWN_ISSUER,
  REJECT_REASON.CERT_EXPIRED,
]);

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
    checkBankAuthority(o.issuerCertificate, a);
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
    const checked = await this.verify(req);
    const out = await this.o.ledger.settleBatch({
      terminalId: req.terminalId,
      batchId: req.batchId,
      bodyHash: req.bodyHash,
      items: checked.map(batchItemOf),
      now: this.clock(),
      windowSeconds: this.windowSeconds,
    });
    return out.kind === 'replayed'
      ? replayed(out.answer)
      : { answer: out.answer, response: out.response, replayed: false };
  }

  /**
   * The stateless checks. A certificate on file only matters when none of the batch's certificates
   * for a card is good (precheck prefers the batch's), so the ledger is read only then: first pass
   * without, and again with the certificates on file of the cards it asked about.
   */
  private async verify(req: SettleBatchRequest): Promise<Prechecked[]> {
    const asked = new Set<string>();
    const pass = (records: readonly string[], onFile: Map<string, Uint8Array>): Prechecked[] =>
      precheck(
        {
          terminalId: req.terminalId,
          storedCertificate: (id) => {
            asked.add(id);
            return onFile.get(id);
          },
          certs: this.certs,
        },
        records,
        req.certificates,
      );
    const first = pass(req.records, new Map());
    // Only the records refused for their certificate are checked again (a returning card's batch
    // usually carries no certificate: re-verifying the whole batch would double the work).
    const again = first.filter((p) => 'final' in p && CERTIFICATE_REASONS.has(p.final.reason!)).map((p) => p.index);
    if (again.length === 0) return first;
    // a stale read is harmless: a certificate on file was verified when stored, and is only ever
    // replaced by one that ends later, which the card's own counter sends until the bank has accepted it
    const onFile = await this.o.ledger.cardCertificates([...asked]);
    const second = pass(
      again.map((i) => req.records[i]!),
      onFile,
    );
    const out = [...first];
    second.forEach((p, k) => {
      const index = again[k]!;
      out[index] = 'final' in p ? { index, final: { ...p.final, index } } : { ...p, index };
    });
    return out;
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
