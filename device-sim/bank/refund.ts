/**
 * POST /v1/refunds (docs/bank-api.md §15): give back (part of) a settled sale to the card that paid it,
 * inside the request's ledger transaction. A refund never exceeds what is left of its sale (its amount,
 * less the refunds already authorised; nothing once the sale is voided), and a refund id is authorised
 * once: asked again, it answers the same token. The credit travels as a top-up token for the card's
 * next load; the bank records that load as this refund, so no top-up can take its place.
 */
import { fromHex } from '../../protocol/bytes.js';
import { MAX_COUNTER } from '../../protocol/commands/messages.js';
import { decodeTopupToken, signTopupToken, type SigningKey } from '../../protocol/record/index.js';
import { encodeRefundAnswer, type RefundRequest } from '../../protocol/bank/refund.js';
import { HttpError } from '../../protocol/bank/http-error.js';
import type { Ledger } from './ledger.js';

export type { RefundRequest } from '../../protocol/bank/refund.js';

const notFound = (recordId: string) =>
  new HttpError(
    404,
    'RECORD_NOT_FOUND',
    `record ${recordId} is not settled`,
    'a refund is of a settled sale of this terminal: settle the sale first (or void it while the card is at the counter)',
  );

/** The 200 response text for `q`; call inside a ledger transaction. Throws HttpError (403, 404, 409, 422). */
export function authoriseRefund(
  ctx: {
    ledger: Ledger;
    authority: { key: SigningKey; certificate: { envelope: Uint8Array } };
    terminalId: string;
    now: number;
  },
  q: RefundRequest,
): string {
  const { ledger, now, terminalId } = ctx;
  const cardId = q.recordId.slice(0, 16);
  const counter = Number(q.recordId.slice(17));
  const answer = (loadSeq: number, refundable: number): string => {
    const row = ledger.getTopup(cardId, loadSeq)!;
    const token = decodeTopupToken(row.token);
    return encodeRefundAnswer(
      {
        cardId,
        loadSeq,
        amount: row.amount,
        currency: row.currency,
        validUntilCounter: row.validUntilCounter,
        issuedAt: row.issuedAt,
        settledCounter: token.settledCounter,
        token: row.token,
        authority: ctx.authority.certificate.envelope,
      },
      { refundId: q.refundId, recordId: q.recordId, refundable },
    );
  };
  const left = () => {
    const sale = ledger.getSettled(cardId, counter)!;
    return ledger.reversalOf(cardId, counter) ? 0 : sale.amount - ledger.refunds.refunded(cardId, counter);
  };

  const known = ledger.refunds.get(terminalId, q.refundId);
  if (known) {
    // One refund id, one refund: the same request gets the same token; anything else is a conflict.
    if (
      known.cardId !== cardId ||
      known.counter !== counter ||
      known.amount !== q.amount ||
      known.loadSeq !== q.loadSeq
    )
      throw new HttpError(
        409,
        'REFUND_CONFLICT',
        `refund ${q.refundId} was already authorised for ${known.amount} of ${known.cardId}:${known.counter} (load ${known.loadSeq})`,
        'a new refund needs a new refund id; a retry must repeat the first request exactly',
      );
    if (known.state === 'cancelled')
      throw new HttpError(
        409,
        'REFUND_CANCELLED',
        `refund ${q.refundId} was cancelled: the card voided the sale before loading it`,
        'nothing to give back: the void returned the whole sale to the card',
      );
    return answer(known.loadSeq, left());
  }
  const sale = ledger.getSettled(cardId, counter);
  if (!sale || sale.terminalId !== terminalId) throw notFound(q.recordId); // never tells another terminal it exists
  if (sale.reverses !== undefined)
    throw new HttpError(
      422,
      'REFUND_NOT_A_SALE',
      `record ${q.recordId} is a reversal (a void), not a sale`,
      'refund the sale itself',
    );
  if (ledger.isRevoked(cardId))
    throw new HttpError(
      403,
      'REVOKED',
      `card ${cardId} is on the revocation list: it can load nothing`,
      'give the money back another way; the issuer holds the card balance',
    );
  if (ledger.reversalOf(cardId, counter))
    throw new HttpError(
      409,
      'REFUND_SALE_VOIDED',
      `the sale ${q.recordId} was voided: its whole amount is back on the card`,
      'nothing is left to refund',
    );
  const refundable = left();
  if (q.amount > refundable)
    throw new HttpError(
      409,
      'REFUND_OVER_REMAINING',
      `refund of ${q.amount} asked, ${refundable} of the sale's ${sale.amount} is left to refund`,
      `refund at most ${refundable}`,
    );
  if (ledger.getTopup(cardId, q.loadSeq))
    throw new HttpError(
      409,
      'TOPUP_CONFLICT',
      `load ${q.loadSeq} of card ${cardId} was already authorised`,
      "read the card's load counter again (GET_INFO), apply the card's stored tokens first, and ask for the next loadSeq",
    );
  // Only when the bank holds the card's next record (not a reversal: checked above) can the sale no
  // longer be voided; otherwise the card itself must show it was not (docs/protocol.md §4.5).
  const knowsNext = ledger.getSettled(cardId, counter + 1) !== undefined;
  const validUntilCounter = Math.min(MAX_COUNTER, ledger.highestCounter(cardId) + q.validForPayments);
  const token = signTopupToken(ctx.authority.key, {
    cardId: fromHex(cardId),
    loadSeq: q.loadSeq,
    amount: q.amount,
    currency: sale.currency,
    validUntilCounter,
    issuedAt: now,
    resetOffline: true,
    settledCounter: ledger.settledPrefix(cardId),
    ...(knowsNext ? {} : { refundOf: counter }),
  });
  ledger.putTopup({
    cardId,
    loadSeq: q.loadSeq,
    amount: q.amount,
    currency: sale.currency,
    validUntilCounter,
    issuedAt: now,
    terminalId,
    token: token.envelope,
  });
  ledger.refunds.put({
    terminalId,
    refundId: q.refundId,
    cardId,
    counter,
    amount: q.amount,
    currency: sale.currency,
    merchantId: sale.merchantId,
    loadSeq: q.loadSeq,
    issuedAt: now,
  });
  return answer(q.loadSeq, refundable - q.amount);
}
