import { decodeBatchRequestBytes, fromBase64url } from '../../protocol/bank/index.js';
import { toHex } from '../../protocol/bytes.js';
import { MAX_RECORD_BYTES, type LocalTime } from '../../protocol/iso8583/index.js';
import { decodeCertificate, decodeTxnRecord, recordId } from '../../protocol/record/index.js';
import { wallClock } from '../close/shop-day.js';

/** One record of a stored batch, as the link sends it (docs/iso8583.md §7). */
export type LinkRecord =
  | {
      readonly index: number;
      readonly record: Uint8Array;
      readonly recordId: string;
      readonly amount: number;
      readonly currency: string;
      readonly processing: 'purchase' | 'void';
      readonly local: LocalTime;
      /** The card's certificate from the batch, when it came along and fits field 59. */
      readonly certificate?: Uint8Array;
    }
  /** A record that cannot travel (does not decode, or too long for field 62): answered here as the bank would. */
  | { readonly index: number; readonly unsendable: string };

const MAX_CERTIFICATE_BYTES = 749; // 999 base64url characters in field 59

/**
 * The stored batch body (docs/bank-api.md §4.1) as advices: each record with the fields the
 * advice needs, read from the signed record itself, and its card's certificate. `timeZone` is the
 * shop's: fields 12 and 13 are the sale's local time.
 */
export function linkRecords(body: Uint8Array, timeZone: string): LinkRecord[] {
  const req = decodeBatchRequestBytes(body);
  const certificates = new Map<string, Uint8Array>();
  for (const text of req.certificates) {
    const bytes = fromBase64url(text);
    if (!bytes || bytes.length > MAX_CERTIFICATE_BYTES) continue;
    try {
      certificates.set(toHex(decodeCertificate(bytes).subjectId), bytes);
    } catch {
      // a certificate that does not decode is left out; the acquirer answers CERT_MISSING if it needed it
    }
  }
  return req.records.map((text, index): LinkRecord => {
    const bytes = fromBase64url(text);
    if (!bytes) return { index, unsendable: 'the stored record is not base64url' };
    if (bytes.length > MAX_RECORD_BYTES)
      return { index, unsendable: `the record is ${bytes.length} bytes, field 62 carries ${MAX_RECORD_BYTES}` };
    let r;
    try {
      r = decodeTxnRecord(bytes);
    } catch (e) {
      return { index, unsendable: (e as Error).message };
    }
    if (!(r.amount >= 1 && r.amount < 1e12) || !(r.currency >= 1 && r.currency <= 999))
      return { index, unsendable: `amount ${r.amount} or currency ${r.currency} does not fit fields 4 and 49` };
    const cert = certificates.get(toHex(r.cardId));
    return {
      index,
      record: bytes,
      recordId: recordId(r),
      amount: r.amount,
      currency: String(r.currency).padStart(3, '0'),
      processing: r.reverses !== undefined ? 'void' : 'purchase',
      local: localTime(r.time, timeZone),
      ...(cert ? { certificate: cert } : {}),
    };
  });
}

/** MMDD and hhmmss of a Unix time in `timeZone`. */
function localTime(unixSeconds: number, timeZone: string): LocalTime {
  const c = wallClock(unixSeconds * 1000, timeZone);
  return { date: `${c.month}${c.day}`, time: `${c.hour}${c.minute}${c.second}` };
}
