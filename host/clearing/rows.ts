/**
 * Row mapping shared by both backends: the two schemas use the same column names and shapes
 * (bytea/BLOB as Buffer, int8/INTEGER as number), so one mapper reads either.
 */
import type { Revocation, SettledRecord } from './ledger.js';

export type Row = Record<string, unknown>;

export const u8 = (b: unknown): Uint8Array => {
  const x = b as Buffer;
  return new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
};
export const buf = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

export const SETTLED_COLUMNS =
  'card_id, counter, envelope, hash, prev_hash, amount, currency, merchant_id, terminal_id, record_time, batch_id, settled_at, reverses';

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
