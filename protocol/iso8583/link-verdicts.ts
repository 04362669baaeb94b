import { REJECT_REASONS, type RejectReason, type Verdict } from '../bank/verdicts.js';
import { isoDecodeError } from './errors.js';

/**
 * Field 39 and field 63 of the link's answers (0230, 0330), docs/iso8583.md §8. Field 39 is what an
 * ISO 8583 host switches on: 00 for a record the acquirer settled now or before (accepted, duplicate),
 * one stable code per rejection reason of docs/bank-api.md §4.3, and a few codes for the message
 * itself. Field 63 carries cardpost's own verdict text, so the link hands the settlement worker the
 * same verdicts the HTTP bank API gives.
 */
export const REASON_CODES: Readonly<Record<RejectReason, string>> = Object.freeze({
  MALFORMED: '30', // format error
  WRONG_TERMINAL: '58', // transaction not permitted to terminal
  CERT_MISSING: 'P1', // cardpost: send the card certificate (field 59)
  CERT_UNKNOWN_ISSUER: '15', // no such issuer
  CERT_INVALID: 'P2', // cardpost: certificate does not verify
  CERT_EXPIRED: '54', // expired card
  CURRENCY_UNSUPPORTED: '57', // transaction not permitted to cardholder
  OVER_LIMIT: '61', // exceeds amount limit
  BAD_SIGNATURE: '63', // security violation
  DOUBLE_SPEND: '59', // suspected fraud
  REVOKED: '62', // restricted card
  RECORD_EXPIRED: 'P3', // cardpost: outside the settlement window
  CHAIN_BROKEN: 'P4', // cardpost: hash chain broken
  REVERSAL_ORPHAN: '25', // unable to locate the original
  REVERSAL_INVALID: '64', // original amount incorrect
});

/** Answers about the message rather than its record. */
export const LINK_CODES = Object.freeze({
  APPROVED: '00',
  /** Fields 41 + 42 name no terminal the acquirer knows. */
  UNKNOWN_TERMINAL: '03',
  /** A request the session does not take now, or one missing a field it needs. */
  INVALID_TRANSACTION: '12',
  /** The same terminal, batch, STAN and record with another certificate: never settled twice. */
  DUPLICATE_TRANSMISSION: '94',
  /** The clearing service failed: nothing settled, send the same message again later. */
  SYSTEM_MALFUNCTION: '96',
  /** CUP's "MAC error, sign on again": field 64 missing or wrong. */
  MAC_FAILED: 'A0',
  /** CUP's "sign on first": no 0800 on this connection, or another batch number than signed on. */
  SIGN_ON_FIRST: '77',
});

const REASON_BY_CODE = new Map(Object.entries(REASON_CODES).map(([r, c]) => [c, r as RejectReason]));

/** The rejection reason a field 39 code stands for, if it is one. */
export function reasonOfCode(code: string): RejectReason | undefined {
  return REASON_BY_CODE.get(code);
}

/** Field 39 for a verdict. */
export function responseCodeOf(v: { verdict: Verdict; reason?: RejectReason }): string {
  if (v.verdict !== 'rejected') return LINK_CODES.APPROVED;
  return REASON_CODES[v.reason ?? 'MALFORMED'];
}

export interface VerdictText {
  /** The clearing service's settlement time of the record, Unix seconds. */
  settledAt: number;
  /** The clearing service answered from its store (this advice had been settled before). */
  replayed: boolean;
  verdict: Verdict;
  reason?: RejectReason;
  detail?: string;
}

/** Field 63 holds at most 163 characters (docs/iso8583.md §2). */
export const VERDICT_FIELD_MAX = 163;
const VERDICTS: readonly Verdict[] = ['accepted', 'duplicate', 'rejected'];

/** `settledAt;replayed(0|1);verdict;reason;detail`, printable ASCII, the detail shortened to fit. */
export function encodeVerdictField(v: VerdictText): string {
  const head = `${v.settledAt};${v.replayed ? 1 : 0};${v.verdict};${v.reason ?? ''};`;
  let detail = (v.detail ?? '').replace(/[^\x20-\x7e]/g, '?');
  const room = VERDICT_FIELD_MAX - head.length;
  if (detail.length > room) detail = detail.slice(0, Math.max(0, room - 3)) + '...';
  return head + detail;
}

/** Strict reading of field 63 of an answer, checked against its field 39. */
export function decodeVerdictField(text: string, responseCode: string): VerdictText {
  const bad = (why: string) => isoDecodeError('ISO8583_FIELD_INVALID', `field 63 "${text.slice(0, 60)}": ${why}`);
  const m = /^(0|[1-9][0-9]{0,14});([01]);([a-z]+);([A-Z_]*);(.*)$/s.exec(text);
  if (!m) throw bad('is not settledAt;replayed;verdict;reason;detail');
  const verdict = m[3] as Verdict;
  if (!VERDICTS.includes(verdict)) throw bad(`verdict "${m[3]}" is not one of ${VERDICTS.join(', ')}`);
  const reason = m[4] === '' ? undefined : (m[4] as RejectReason);
  if (reason !== undefined && !REJECT_REASONS.includes(reason)) throw bad(`"${m[4]}" is not a rejection reason`);
  if ((verdict === 'rejected') !== (reason !== undefined)) throw bad('a reason goes with a rejection and only there');
  if (responseCodeOf({ verdict, ...(reason ? { reason } : {}) }) !== responseCode)
    throw bad(`the verdict ${verdict} ${reason ?? ''} does not go with response code ${responseCode}`);
  return {
    settledAt: Number(m[1]),
    replayed: m[2] === '1',
    verdict,
    ...(reason ? { reason } : {}),
    ...(m[5] ? { detail: m[5] } : {}),
  };
}
