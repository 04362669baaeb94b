import { createHash } from 'node:crypto';
import { isoEncodeError } from './errors.js';

/**
 * How the link numbers what it sends (docs/iso8583.md §7), derived from what the counter's queue
 * already keeps, so a batch re-sent after a crash goes out under the same numbers and gets the
 * same answers, with no numbering state of its own to lose:
 *  - the ISO batch number (field 60.2) from the host's batch id, 1..999999;
 *  - an advice's STAN (field 11) from the record's place in the batch, 1..999 (a 0320 upload of
 *    that record reuses it: the acquirer counts a record once per STAN);
 *  - sign-on and settlement STANs above 999, counting the tries within one batch.
 */
export const MAX_LINK_RECORDS = 999;
export const SIGN_ON_STAN_BASE = 1000;
export const SETTLEMENT_STAN_BASE = 2000;

export function isoBatchNumber(batchId: string): number {
  if (!/^[0-9a-fA-F]{32}$/.test(batchId))
    throw isoEncodeError('ISO8583_FIELD_INVALID', `batch id "${batchId.slice(0, 40)}" is not 32 hex digits`);
  const h = createHash('sha256').update(`cardpost iso8583 batch ${batchId.toLowerCase()}`).digest();
  return (h.readUIntBE(0, 6) % 999_999) + 1;
}

export function adviceStan(index: number): number {
  if (!Number.isInteger(index) || index < 0 || index >= MAX_LINK_RECORDS)
    throw isoEncodeError('ISO8583_FIELD_INVALID', `record ${index}: a batch on the link holds 1..${MAX_LINK_RECORDS}`);
  return index + 1;
}
