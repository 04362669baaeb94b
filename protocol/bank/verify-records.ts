/**
 * The stateless half of settling a batch (docs/bank-api.md §4.3, up to BAD_SIGNATURE): decode each
 * record, check its terminal, pick and verify its card certificate, check limits and the card's
 * signature. Pure: the simulated bank and the clearing service's verifiers (host/clearing) both run it
 * before their ledger transaction, so the costly crypto never runs under a lock.
 */
import { createHash } from 'node:crypto';
import { toHex } from '../bytes.js';
import { CardpostError } from '../errors.js';
import {
  CERT_KIND,
  CVM,
  decodeCertificate,
  decodeTxnRecord,
  recordId,
  verifyCertificate,
  verifyTxnRecord,
  type Certificate,
  type SignedTxnRecord,
  type TrustStore,
} from '../record/index.js';
import { fromBase64url } from './terminal-auth.js';
import { REJECT_REASON, type RecordResult, type RejectReason } from './verdicts.js';

export type Prechecked =
  | { index: number; final: RecordResult }
  | {
      index: number;
      record: SignedTxnRecord;
      id: string;
      cardId: string;
      certificate: Certificate;
      certFromBatch: boolean;
    };

const reject = (
  index: number,
  recordIdText: string | null,
  reason: RejectReason,
  detail: string,
): { index: number; final: RecordResult } => ({
  index,
  final: { index, recordId: recordIdText, verdict: 'rejected', reason, detail },
});

const iso = (t: number): string => new Date(t * 1000).toISOString().replace('.000Z', 'Z');

/** Verified-signature cache for certificates (key: SHA-256 of the envelope); the chain check does not depend on the record. */
export class CertificateCache {
  private readonly results = new Map<string, { ok: true } | { ok: false; reason: RejectReason; detail: string }>();
  constructor(
    private readonly trust: TrustStore,
    private readonly max = 10_000,
  ) {}

  chain(cert: Certificate): { ok: true } | { ok: false; reason: RejectReason; detail: string } {
    const k = createHash('sha256').update(cert.envelope).digest('hex'); // native: this runs once per record
    let r = this.results.get(k);
    if (!r) {
      const issuer = this.trust.issuerFor(cert);
      if (!issuer) {
        r = {
          ok: false,
          reason: REJECT_REASON.CERT_UNKNOWN_ISSUER,
          detail: `card certificate issued by key ${toHex(cert.issuerKeyId)}, not a CA this bank trusts`,
        };
      } else {
        let check;
        try {
          check = verifyCertificate(cert, issuer, { kind: CERT_KIND.CARD });
        } catch (e) {
          check = {
            ok: false as const,
            problem: 'bad-signature' as const,
            detail: e instanceof CardpostError ? e.message : 'unverifiable',
          };
        }
        r = check.ok
          ? { ok: true }
          : check.problem === 'unknown-issuer'
            ? { ok: false, reason: REJECT_REASON.CERT_UNKNOWN_ISSUER, detail: check.detail }
            : { ok: false, reason: REJECT_REASON.CERT_INVALID, detail: `card certificate: ${check.detail}` };
      }
      if (this.results.size >= this.max) this.results.clear();
      this.results.set(k, r);
    }
    return r;
  }
}

/**
 * The card certificate a batch files for each of its cards: the one with the latest notAfter among
 * those the verifier used for the card's records that reach the ledger (whatever their verdicts
 * there: the verifier checked it). The ledger keeps it when the card has none on file, or when it
 * ends later than the one on file: a renewed certificate replaces the old one, so a later batch that
 * leaves certificates out (bank-api.md §4.1) is checked against the card's current certificate.
 * The simulated bank and the clearing ledger both apply exactly this rule.
 */
export function newestCertificates(
  records: Iterable<{ cardId: string; certificate: Uint8Array | undefined; notAfter: number }>,
): Map<string, { certificate: Uint8Array; notAfter: number }> {
  const best = new Map<string, { certificate: Uint8Array; notAfter: number }>();
  for (const { cardId, certificate, notAfter } of records) {
    if (!certificate) continue;
    const seen = best.get(cardId);
    if (!seen || notAfter > seen.notAfter) best.set(cardId, { certificate, notAfter });
  }
  return best;
}

/** Everything about a batch's records that needs no ledger state beyond stored certificates: no lock, any core. */
export function precheck(
  ctx: {
    terminalId: string;
    /** A card certificate the bank verified before (its envelope), the fallback when the batch has none. */
    storedCertificate: (cardId: string) => Uint8Array | undefined;
    certs: CertificateCache;
  },
  records: readonly string[],
  certificates: readonly string[],
): Prechecked[] {
  const byCard = new Map<string, Certificate[]>();
  let undecodable = 0;
  for (const text of certificates) {
    const bytes = fromBase64url(text);
    let cert: Certificate | undefined;
    if (bytes) {
      try {
        cert = decodeCertificate(bytes);
      } catch (e) {
        if (!(e instanceof CardpostError)) throw e;
      }
    }
    if (!cert) {
      undecodable++;
      continue;
    }
    const k = toHex(cert.subjectId);
    byCard.set(k, [...(byCard.get(k) ?? []), cert]);
  }
  const stored = new Map<string, Certificate | null>();
  const storedCert = (cardId: string): Certificate | null => {
    if (!stored.has(cardId)) {
      const bytes = ctx.storedCertificate(cardId);
      let c: Certificate | null = null;
      if (bytes) {
        try {
          c = decodeCertificate(bytes);
        } catch {
          c = null;
        }
      }
      stored.set(cardId, c);
    }
    return stored.get(cardId)!;
  };

  return records.map((text, index): Prechecked => {
    const bytes = fromBase64url(text);
    if (!bytes) return reject(index, null, REJECT_REASON.MALFORMED, 'not base64url (RFC 4648 §5, no padding)');
    let record: SignedTxnRecord;
    try {
      record = decodeTxnRecord(bytes);
    } catch (e) {
      if (!(e instanceof CardpostError)) throw e;
      return reject(index, null, REJECT_REASON.MALFORMED, `${e.code}: ${e.message}`);
    }
    const id = recordId(record);
    const cardId = toHex(record.cardId);

    if (record.terminalId !== ctx.terminalId) {
      return reject(
        index,
        id,
        REJECT_REASON.WRONG_TERMINAL,
        `record names terminal "${record.terminalId}", the request is authenticated as "${ctx.terminalId}"`,
      );
    }

    // certificate: the batch's first, then any other of the batch, then one the bank verified before
    const candidates = [...(byCard.get(cardId) ?? [])];
    const fromBatch = candidates.length;
    const s = storedCert(cardId);
    if (s) candidates.push(s);
    if (candidates.length === 0) {
      return reject(
        index,
        id,
        REJECT_REASON.CERT_MISSING,
        `no certificate for card ${cardId} in the batch or on file` +
          (undecodable ? ` (${undecodable} certificate(s) in the batch did not decode)` : ''),
      );
    }
    // prefer a good certificate valid at the record's time; else the first good one (→ CERT_EXPIRED)
    let chosen = -1;
    let firstFailure: { reason: RejectReason; detail: string } | undefined;
    for (let i = 0; i < candidates.length; i++) {
      const c = candidates[i]!;
      const r = ctx.certs.chain(c);
      if (!r.ok) {
        firstFailure ??= r;
        continue;
      }
      if (chosen < 0) chosen = i;
      if (record.time >= c.notBefore && record.time <= c.notAfter) {
        chosen = i;
        break;
      }
    }
    if (chosen < 0) return reject(index, id, firstFailure!.reason, firstFailure!.detail);
    const cert = candidates[chosen]!;
    if (record.time < cert.notBefore || record.time > cert.notAfter) {
      return reject(
        index,
        id,
        REJECT_REASON.CERT_EXPIRED,
        `record time ${iso(record.time)} is outside the card certificate's validity ${iso(cert.notBefore)} … ${iso(cert.notAfter)}`,
      );
    }
    if (record.algorithm !== cert.algorithm) {
      return reject(
        index,
        id,
        REJECT_REASON.BAD_SIGNATURE,
        `record says algorithm ${record.algorithm}, the card key is algorithm ${cert.algorithm}`,
      );
    }
    let good = false;
    try {
      good = verifyTxnRecord(record, cert.publicKey);
    } catch (e) {
      if (!(e instanceof CardpostError)) throw e;
    }
    if (!good)
      return reject(
        index,
        id,
        REJECT_REASON.BAD_SIGNATURE,
        'the card signature does not verify: the record was altered or not signed by this card',
      );
    if (record.currency !== cert.currency) {
      return reject(
        index,
        id,
        REJECT_REASON.CURRENCY_UNSUPPORTED,
        `record currency ${record.currency}, the card is issued for ${cert.currency}`,
      );
    }
    const limits = cert.limits!;
    if (record.amount > limits.perTransaction) {
      return reject(
        index,
        id,
        REJECT_REASON.OVER_LIMIT,
        `amount ${record.amount} is over the card's per-transaction limit ${limits.perTransaction}`,
      );
    }
    // A reversal gives a sale back: it needs no cardholder verification, whatever its amount.
    if (record.cvm === CVM.NONE && record.amount > limits.noPin && record.reverses === undefined) {
      return reject(
        index,
        id,
        REJECT_REASON.OVER_LIMIT,
        `amount ${record.amount} is over the no-PIN limit ${limits.noPin} and no PIN was verified`,
      );
    }
    return { index, record, id, cardId, certificate: cert, certFromBatch: chosen < fromBatch };
  });
}
