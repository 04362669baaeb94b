/**
 * POST /v1/topups (docs/bank-api.md §6): authorise one load of one card, inside the request's
 * ledger transaction. The token carries the card's settled chain (settledCounter): the card stops
 * counting as offline only the payments the bank holds, so a top-up from any terminal cannot wipe
 * out offline payments the bank has never seen.
 */
import { fromHex } from '../../protocol/bytes.js';
import { MAX_COUNTER } from '../../protocol/commands/messages.js';
import { decodeCertificate, decodeTopupToken, signTopupToken, type SigningKey } from '../../protocol/record/index.js';
import { encodeTopupAnswer, type TopupRequest } from '../../protocol/bank/topup.js';
import { HttpError } from '../../protocol/bank/http-error.js';
import type { Ledger, TopupRow } from './ledger.js';

export { DEFAULT_VALID_FOR_PAYMENTS, TOPUP_AMOUNT, type TopupRequest } from '../../protocol/bank/topup.js';

/** The 200 response text for `q`; call inside a ledger transaction. Throws HttpError (403, 409, 422). */
export function authoriseTopup(
  ctx: {
    ledger: Ledger;
    authority: { key: SigningKey; certificate: { envelope: Uint8Array } };
    terminalId: string;
    now: number;
  },
  q: TopupRequest,
): string {
  const { ledger, now } = ctx;
  const { cardId, loadSeq, amount, currency } = q;
  if (ledger.isRevoked(cardId))
    throw new HttpError(
      403,
      'REVOKED',
      `card ${cardId} is on the revocation list`,
      'do not load this card; keep it and contact the issuer',
    );
  let row = ledger.getTopup(cardId, loadSeq);
  if (row && ledger.refunds.atLoad(cardId, loadSeq))
    throw new HttpError(
      409,
      'TOPUP_CONFLICT',
      `load ${loadSeq} of card ${cardId} is a refund (${ledger.refunds.atLoad(cardId, loadSeq)!.refundId})`,
      "apply the card's stored refund first (put the card in the reader), then ask for the next loadSeq",
    );
  if (row) {
    // One token per load: a retry gets the same token, with the settledCounter of its first issue.
    if (row.amount !== amount || row.currency !== currency) {
      throw new HttpError(
        409,
        'TOPUP_CONFLICT',
        `load ${loadSeq} of card ${cardId} was already authorised for ${row.amount} (currency ${row.currency})`,
        "read the card's load counter again (GET_INFO) and ask for the next loadSeq",
      );
    }
  } else {
    const certBytes = ledger.getCardCertificate(cardId);
    if (certBytes) {
      const cert = decodeCertificate(certBytes);
      if (cert.currency !== currency) {
        throw new HttpError(
          422,
          'CURRENCY_UNSUPPORTED',
          `card ${cardId} is issued for currency ${cert.currency}, not ${currency}`,
          'load the card in its own currency',
        );
      }
    }
    const validUntilCounter = Math.min(MAX_COUNTER, ledger.highestCounter(cardId) + q.validForPayments);
    const token = signTopupToken(ctx.authority.key, {
      cardId: fromHex(cardId),
      loadSeq,
      amount,
      currency,
      validUntilCounter,
      issuedAt: now,
      resetOffline: true,
      settledCounter: ledger.settledPrefix(cardId),
    });
    const fresh: TopupRow = {
      cardId,
      loadSeq,
      amount,
      currency,
      validUntilCounter,
      issuedAt: now,
      terminalId: ctx.terminalId,
      token: token.envelope,
    };
    ledger.putTopup(fresh);
    row = fresh;
  }
  return encodeTopupAnswer({
    cardId,
    loadSeq,
    amount,
    currency,
    validUntilCounter: row.validUntilCounter,
    issuedAt: row.issuedAt,
    settledCounter: decodeTopupToken(row.token).settledCounter,
    token: row.token,
    authority: ctx.authority.certificate.envelope,
  });
}
