/**
 * GET /v1/records/{cardId}/{counter} (docs/bank-api.md §5): who may read a settled record.
 *
 * A record tells where, when and how much a card paid; only the terminal that submitted it (the
 * record names it, and settle.ts refuses a record from any other terminal) and the issuer's back
 * office (a kind 5 ISSUER_SERVICE certificate) may read it. Anyone else gets exactly the answer
 * for a record that does not exist, so not even the existence of a payment elsewhere leaks.
 */
import { toHex } from '../../protocol/bytes.js';
import { MAX_COUNTER } from '../../protocol/commands/messages.js';
import { CERT_KIND, type CertKind } from '../../protocol/record/index.js';
import { HttpError, badRequest } from '../../protocol/bank/http-error.js';
import type { Ledger } from './ledger.js';

/** The authenticated caller: its certificate's kind and subject (the terminal id for kind 3). */
export interface Caller {
  kind: CertKind;
  id: string;
}

/** The kinds of certificate GET /v1/records accepts. */
export const RECORD_READER_KINDS: readonly CertKind[] = [CERT_KIND.TERMINAL, CERT_KIND.ISSUER_SERVICE];

const USAGE = 'GET /v1/records/<cardIdHex>/<counter>';

/** The response body for `caller`, or an HttpError (400 PATH_INVALID, 404 RECORD_NOT_FOUND). */
export function recordStatus(ledger: Ledger, caller: Caller, params: { cardId: string; counter: string }): string {
  const { cardId, counter } = params;
  if (!/^[0-9a-fA-F]{16}$/.test(cardId)) throw badRequest('PATH_INVALID', 'the card id must be 16 hex digits', USAGE);
  if (!/^[1-9][0-9]{0,9}$/.test(counter) || Number(counter) > MAX_COUNTER)
    throw badRequest('PATH_INVALID', 'the counter must be an integer 1…4294967295', USAGE);
  const id = cardId.toLowerCase();
  const n = Number(counter);
  const row = ledger.getSettled(id, n);
  const mayRead =
    row !== undefined &&
    (caller.kind === CERT_KIND.ISSUER_SERVICE || (caller.kind === CERT_KIND.TERMINAL && row.terminalId === caller.id));
  // One answer for "not settled" and "not yours": the same code, message and hint, byte for byte.
  if (!row || !mayRead)
    throw new HttpError(404, 'RECORD_NOT_FOUND', `record ${id}:${n} is not settled`, 'submit it in a batch');
  return JSON.stringify({
    recordId: `${id}:${n}`,
    status: 'settled',
    settledAt: row.settledAt,
    batchId: row.batchId,
    terminalId: row.terminalId,
    merchantId: row.merchantId,
    amount: row.amount,
    currency: row.currency,
    recordTime: row.recordTime,
    hash: toHex(row.hash),
    doubleSpendEvidence: ledger.hasEvidence(id, n, 'double-spend'),
  });
}
