/**
 * Row mapping shared by both backends: the two schemas use the same column names and shapes
 * (bytea/BLOB as Buffer, int8/INTEGER as number), so one mapper reads either.
 */
import type { Evidence, EvidenceKind, Revocation, SettledRecord } from './ledger.js';

export type Row = Record<string, unknown>;

export const u8 = (b: unknown): Uint8Array => {
  const x = b as Buffer;
  return new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
};
export const buf = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

export const SETTLED_COLUMNS =
  'card_id, counter, envelope, hash, prev_hash, amount, currency, merchant_id, terminal_id, record_time, batch_id, settled_at, reverses';

/** A settled record's values in SETTLED_COLUMNS order, ready to bind. */
export function settledValues(s: SettledRecord): unknown[] {
  return [
    s.cardId,
    s.counter,
    buf(s.envelope),
    buf(s.hash),
    buf(s.prevHash),
    s.amount,
    s.currency,
    s.merchantId,
    s.terminalId,
    s.recordTime,
    s.batchId,
    s.settledAt,
    s.reverses ?? null,
  ];
}

export function settledFromRow(r: Row): SettledRecord {
  return {
    cardId: r['card_id'] as string,
    counter: r['counter'] as number,
    envelope: u8(r['envelope']),
    hash: u8(r['hash']),
    prevHash: u8(r['prev_hash']),
    amount: r['amount'] as number,
    currency: r['currency'] as number,
    merchantId: r['merchant_id'] as string,
    terminalId: r['terminal_id'] as string,
    recordTime: r['record_time'] as number,
    batchId: r['batch_id'] as string,
    settledAt: r['settled_at'] as number,
    ...(r['reverses'] !== null && r['reverses'] !== undefined ? { reverses: r['reverses'] as number } : {}),
  };
}

export function revocationFromRow(r: Row): Revocation {
  return {
    cardId: r['card_id'] as string,
    reason: r['reason'] as string,
    revokedAt: r['revoked_at'] as number,
    settlesSignedUntil: (r['settles_signed_until'] as number | null) ?? null,
  };
}

/** The columns an evidence row is written with, in evidenceValues order. */
export const EVIDENCE_INSERT_COLUMNS =
  'card_id, counter, kind, conflicting_hash, settled_envelope, conflicting_envelope, terminal_id, batch_id, detected_at, detail';

export function evidenceValues(e: Evidence, conflictingHash: Uint8Array): unknown[] {
  return [
    e.cardId,
    e.counter,
    e.kind,
    buf(conflictingHash),
    buf(e.settledEnvelope),
    buf(e.conflictingEnvelope),
    e.terminalId,
    e.batchId,
    e.detectedAt,
    e.detail,
  ];
}

/** The columns evidenceFromRow reads, and the order evidence is listed in. */
export const EVIDENCE_SELECT =
  'SELECT kind, card_id, counter, settled_envelope, conflicting_envelope, terminal_id, batch_id, detected_at, detail FROM evidence';
export const EVIDENCE_ORDER = 'ORDER BY detected_at, counter, kind, conflicting_hash';

export function evidenceFromRow(r: Row): Evidence {
  return {
    kind: r['kind'] as EvidenceKind,
    cardId: r['card_id'] as string,
    counter: r['counter'] as number,
    settledEnvelope: u8(r['settled_envelope']),
    conflictingEnvelope: u8(r['conflicting_envelope']),
    terminalId: r['terminal_id'] as string,
    batchId: r['batch_id'] as string,
    detectedAt: r['detected_at'] as number,
    detail: r['detail'] as string,
  };
}
