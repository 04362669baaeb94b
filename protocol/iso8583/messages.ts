import { fromBase64url, toBase64url } from '../bank/terminal-auth.js';
import type { FieldValue, Iso8583Message } from './codec.js';
import { isoDecodeError, isoEncodeError } from './errors.js';

/**
 * The messages the acquirer link sends and answers (docs/iso8583.md §4): builders only; the link
 * itself (connection, retries, batching) is built on top of them. Every builder checks its
 * inputs (EncodeError ISO8583_FIELD_INVALID) so a link never sends a message it cannot explain.
 */
export const MTI = Object.freeze({
  SIGN_ON: '0800',
  SIGN_ON_RESPONSE: '0810',
  ADVICE: '0220',
  ADVICE_REPEAT: '0221',
  ADVICE_RESPONSE: '0230',
  BATCH_UPLOAD: '0320',
  BATCH_UPLOAD_RESPONSE: '0330',
  SETTLEMENT: '0500',
  SETTLEMENT_RESPONSE: '0510',
});

/** The MTI that answers `mti` (a repeat, 0221, is answered like the original: 0230). */
export function responseMti(mti: string): string {
  const answered: Record<string, string> = {
    [MTI.SIGN_ON]: MTI.SIGN_ON_RESPONSE,
    [MTI.ADVICE]: MTI.ADVICE_RESPONSE,
    [MTI.ADVICE_REPEAT]: MTI.ADVICE_RESPONSE,
    [MTI.BATCH_UPLOAD]: MTI.BATCH_UPLOAD_RESPONSE,
    [MTI.SETTLEMENT]: MTI.SETTLEMENT_RESPONSE,
  };
  const r = answered[mti];
  if (!r) throw isoEncodeError('ISO8583_FIELD_INVALID', `MTI ${mti} is not a request the link sends`);
  return r;
}

/** Field 60.3, network management information code, as cardpost uses it. */
export const NETWORK_CODE = Object.freeze({ NONE: '000', SIGN_ON: '001', SETTLEMENT: '201', BATCH_UPLOAD: '202' });
/** Field 60.1, message class. */
export const MESSAGE_CLASS = Object.freeze({ NETWORK: '00', OFFLINE_ADVICE: '30' });
/** Field 39 "approved"; anything else is a refusal the link reports with its code. */
export const RESPONSE_APPROVED = '00';
/** Field 48 reconciliation answer in 0510. */
export const RECONCILIATION = Object.freeze({ BALANCED: '1', OUT_OF_BALANCE: '2' });

/** Field 62 carries the signed record as base64url; the field holds at most 999 characters. */
export const MAX_RECORD_BYTES = 749;

export interface TerminalIdentity {
  /** Field 41: 8 printable ASCII characters, as the acquirer assigned. */
  readonly terminalId: string;
  /** Field 42: 15 printable ASCII characters. */
  readonly merchantId: string;
}

export interface Header extends TerminalIdentity {
  /** Field 11: system trace audit number 1..999999, new per request, echoed by the answer. */
  readonly stan: number;
  /** Field 60.2: batch number 0..999999. */
  readonly batch: number;
}

export interface LocalTime {
  /** Field 13, MMDD in the shop's time zone. */
  readonly date: string;
  /** Field 12, hhmmss in the shop's time zone. */
  readonly time: string;
}

export interface BatchTotals {
  readonly debitCount: number;
  /** Minor units. */
  readonly debitAmount: number;
  readonly creditCount: number;
  readonly creditAmount: number;
}

const bad = (why: string) => isoEncodeError('ISO8583_FIELD_INVALID', why);

function digits(value: number, width: number, what: string, min = 0): string {
  if (!Number.isSafeInteger(value) || value < min || value >= 10 ** width)
    throw bad(`${what} ${value} is not an integer ${min}..${10 ** width - 1}`);
  return String(value).padStart(width, '0');
}

function text(value: string, width: number, what: string): string {
  if (typeof value !== 'string' || value.length !== width || !/^[\x20-\x7e]*$/.test(value))
    throw bad(`${what} "${value}" is not ${width} printable ASCII characters`);
  return value;
}

function pattern(value: string, re: RegExp, what: string): string {
  if (typeof value !== 'string' || !re.test(value)) throw bad(`${what} "${value}" is not ${re.source}`);
  return value;
}

function common(h: Header, messageClass: string, networkCode: string): [number, FieldValue][] {
  return [
    [11, digits(h.stan, 6, 'STAN', 1)],
    [41, text(h.terminalId, 8, 'terminal id')],
    [42, text(h.merchantId, 15, 'merchant id')],
    [60, messageClass + digits(h.batch, 6, 'batch number') + networkCode],
  ];
}

function localTime(t: LocalTime): [number, FieldValue][] {
  return [
    [12, pattern(t.time, /^([01][0-9]|2[0-3])[0-5][0-9][0-5][0-9]$/, 'local time')],
    [13, pattern(t.date, /^(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])$/, 'local date')],
  ];
}

function message(mti: string, fields: [number, FieldValue][]): Iso8583Message {
  return { mti, fields: new Map(fields.sort((a, b) => a[0] - b[0])) };
}

/** 0800 sign-on: fields 11, 41, 42, 60 (00 + batch + 001), 63 (operator, 3 characters). */
export function signOn(h: Header & { readonly operator: string }): Iso8583Message {
  return message(MTI.SIGN_ON, [
    ...common(h, MESSAGE_CLASS.NETWORK, NETWORK_CODE.SIGN_ON),
    [63, text(h.operator, 3, 'operator')],
  ]);
}

/** 0810: fields 11, 12, 13, 39, 41, 42, 60. */
export function signOnResponse(h: Header & LocalTime & { readonly responseCode: string }): Iso8583Message {
  return message(MTI.SIGN_ON_RESPONSE, [
    ...common(h, MESSAGE_CLASS.NETWORK, NETWORK_CODE.SIGN_ON),
    ...localTime(h),
    [39, responseCode(h.responseCode)],
  ]);
}

export interface AdviceInput extends Header, LocalTime {
  /** 0221 when the 0220 went unanswered (same STAN, same record). */
  readonly repeat?: boolean;
  /** Minor units, 1..999999999999 (field 4). */
  readonly amount: number;
  /** ISO 4217 numeric, e.g. "156" (field 49). */
  readonly currency: string;
  /** Field 22: chip read by contact (051) or contactless (071), PIN-capable terminal. */
  readonly entry: 'contact' | 'contactless';
  /** Field 3: a sale (000000, the default) or the card's void of its last sale (200000). */
  readonly processing?: 'purchase' | 'void';
  /** The signed record envelope exactly as the card signed it (field 62, base64url). */
  readonly record: Uint8Array;
}

/** 0220/0221 offline advice for one stored sale: 3, 4, 11, 12, 13, 22, 25, 41, 42, 49, 60, 62. */
export function offlineAdvice(a: AdviceInput): Iso8583Message {
  return message(a.repeat ? MTI.ADVICE_REPEAT : MTI.ADVICE, [
    ...common(a, MESSAGE_CLASS.OFFLINE_ADVICE, NETWORK_CODE.NONE),
    ...localTime(a),
    [3, a.processing === 'void' ? '200000' : '000000'],
    [4, digits(a.amount, 12, 'amount', 1)],
    [22, a.entry === 'contactless' ? '071' : '051'],
    [25, '00'],
    [49, pattern(a.currency, /^[0-9]{3}$/, 'currency')],
    [62, recordField(a.record)],
  ]);
}

/** 0230: 11, 39, 41, 42, 60. */
export function adviceResponse(h: Header & { readonly responseCode: string }): Iso8583Message {
  return message(MTI.ADVICE_RESPONSE, [
    ...common(h, MESSAGE_CLASS.OFFLINE_ADVICE, NETWORK_CODE.NONE),
    [39, responseCode(h.responseCode)],
  ]);
}

/** 0500 batch settlement: 11, 41, 42, 48 (totals), 49, 60 (00 + batch + 201), 63 (operator). */
export function settlement(
  h: Header & { readonly totals: BatchTotals; readonly currency: string; readonly operator: string },
): Iso8583Message {
  return message(MTI.SETTLEMENT, [
    ...common(h, MESSAGE_CLASS.NETWORK, NETWORK_CODE.SETTLEMENT),
    [48, totalsField(h.totals)],
    [49, pattern(h.currency, /^[0-9]{3}$/, 'currency')],
    [63, text(h.operator, 3, 'operator')],
  ]);
}

/** 0510: 11, 15, 39, 41, 42, 48 (the acquirer's totals + reconciliation code), 60. */
export function settlementResponse(
  h: Header & {
    readonly responseCode: string;
    readonly settlementDate: string;
    readonly totals: BatchTotals;
    readonly balanced: boolean;
  },
): Iso8583Message {
  return message(MTI.SETTLEMENT_RESPONSE, [
    ...common(h, MESSAGE_CLASS.NETWORK, NETWORK_CODE.SETTLEMENT),
    [15, pattern(h.settlementDate, /^(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])$/, 'settlement date')],
    [39, responseCode(h.responseCode)],
    [48, totalsField(h.totals) + (h.balanced ? RECONCILIATION.BALANCED : RECONCILIATION.OUT_OF_BALANCE)],
  ]);
}

/** 0320 batch upload of one record after an out-of-balance 0510: 4, 11, 12, 13, 41, 42, 49, 60 (…202), 62. */
export function batchUpload(
  a: Header & LocalTime & { readonly amount: number; readonly currency: string; readonly record: Uint8Array },
): Iso8583Message {
  return message(MTI.BATCH_UPLOAD, [
    ...common(a, MESSAGE_CLASS.NETWORK, NETWORK_CODE.BATCH_UPLOAD),
    ...localTime(a),
    [4, digits(a.amount, 12, 'amount', 1)],
    [49, pattern(a.currency, /^[0-9]{3}$/, 'currency')],
    [62, recordField(a.record)],
  ]);
}

/** 0330: 11, 39, 41, 42, 60. */
export function batchUploadResponse(h: Header & { readonly responseCode: string }): Iso8583Message {
  return message(MTI.BATCH_UPLOAD_RESPONSE, [
    ...common(h, MESSAGE_CLASS.NETWORK, NETWORK_CODE.BATCH_UPLOAD),
    [39, responseCode(h.responseCode)],
  ]);
}

function responseCode(code: string): string {
  return pattern(code, /^[0-9A-Z]{2}$/, 'response code');
}

function recordField(record: Uint8Array): string {
  if (!(record instanceof Uint8Array) || record.length === 0 || record.length > MAX_RECORD_BYTES)
    throw bad(`signed record of ${record?.length} bytes: field 62 carries 1..${MAX_RECORD_BYTES}`);
  return toBase64url(record);
}

function totalsField(t: BatchTotals): string {
  return (
    digits(t.debitCount, 3, 'debit count') +
    digits(t.debitAmount, 12, 'debit amount') +
    digits(t.creditCount, 3, 'credit count') +
    digits(t.creditAmount, 12, 'credit amount')
  );
}

// ---- reading what arrives (decoded messages are well-formed; these check their meaning) ----

const invalid = (why: string) => isoDecodeError('ISO8583_FIELD_INVALID', why);

function required(msg: Iso8583Message, n: number): string {
  const v = msg.fields.get(n);
  if (typeof v !== 'string') throw invalid(`${msg.mti}: field ${n} is missing`);
  return v;
}

/** STAN, response code and batch of an answer; `approved` when field 39 is 00. */
export function readResponse(msg: Iso8583Message): {
  stan: number;
  responseCode: string;
  approved: boolean;
  batch: number;
} {
  const responseCodeValue = required(msg, 39);
  const f60 = required(msg, 60);
  if (!/^[0-9]{11}$/.test(f60)) throw invalid(`${msg.mti}: field 60 "${f60}" is not class + batch + network code`);
  return {
    stan: Number(required(msg, 11)),
    responseCode: responseCodeValue,
    approved: responseCodeValue === RESPONSE_APPROVED,
    batch: Number(f60.slice(2, 8)),
  };
}

/** The signed record in field 62 (0220/0221/0320), strictly base64url. */
export function readRecord(msg: Iso8583Message): Uint8Array {
  const bytes = fromBase64url(required(msg, 62));
  if (!bytes || bytes.length === 0) throw invalid(`${msg.mti}: field 62 is not base64url of a signed record`);
  return bytes;
}

/** Field 48 of 0500 (30 digits) or 0510 (31: the last is the reconciliation code). */
export function readTotals(msg: Iso8583Message): BatchTotals & { balanced?: boolean } {
  const f = required(msg, 48);
  const withCode = msg.mti === MTI.SETTLEMENT_RESPONSE;
  if (!(withCode ? /^[0-9]{30}[12]$/ : /^[0-9]{30}$/).test(f))
    throw invalid(`${msg.mti}: field 48 "${f}" is not ${withCode ? 'totals + reconciliation code' : 'batch totals'}`);
  const totals = {
    debitCount: Number(f.slice(0, 3)),
    debitAmount: Number(f.slice(3, 15)),
    creditCount: Number(f.slice(15, 18)),
    creditAmount: Number(f.slice(18, 30)),
  };
  return withCode ? { ...totals, balanced: f[30] === RECONCILIATION.BALANCED } : totals;
}
