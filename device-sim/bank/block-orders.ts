/**
 * GET /v1/cards/{cardId}/block-order (docs/bank-api.md §14): the signed order that blocks a revoked
 * card on the card itself (docs/protocol.md §4.8, §7.6), signed by the bank's top-up authority, as
 * the revocation list is. Nothing is stored: the order's fields come from the revocation (why, when)
 * and the current list (which carries the card), so every answer for a card says the same thing.
 */
import { fromHex } from '../../protocol/bytes.js';
import { BLOCK_REASON, signBlockOrder, type BlockReason, type SigningKey } from '../../protocol/record/index.js';
import type { Certificate } from '../../protocol/record/index.js';
import { BLOCK_ORDER_CARD_ID, blockReasonName, encodeBlockOrderAnswer } from '../../protocol/bank/block-order.js';
import { HttpError, badRequest } from '../../protocol/bank/http-error.js';
import type { Ledger } from './ledger.js';

/** The path's card id in lower case; 400 PATH_INVALID otherwise. */
export function blockOrderCardIdOf(params: unknown): string {
  const cardId = (params as { cardId?: unknown } | undefined)?.cardId;
  if (typeof cardId !== 'string' || !BLOCK_ORDER_CARD_ID.test(cardId))
    throw badRequest('PATH_INVALID', 'the card id must be 16 hex digits', 'GET /v1/cards/<cardIdHex>/block-order');
  return cardId.toLowerCase();
}

/** The order's reason: the lost/stolen report that revoked the card, a double spend, or the operator's withdrawal. */
function reasonOf(ledger: Ledger, cardId: string, revocationReason: string): BlockReason {
  const lost = ledger.getLostCard(cardId);
  if (lost?.revokedByReport) return lost.reason === 'stolen' ? BLOCK_REASON.STOLEN : BLOCK_REASON.LOST;
  if (revocationReason.startsWith('double spend')) return BLOCK_REASON.FRAUD;
  return BLOCK_REASON.WITHDRAWN;
}

/** The answer text; 404 CARD_NOT_REVOKED for a card that is not on the revocation list. */
export function blockOrderAnswer(
  ctx: { ledger: Ledger; authority: { key: SigningKey; certificate: Certificate } },
  cardId: string,
): string {
  const revoked = ctx.ledger.revocation(cardId);
  const list = ctx.ledger.getRevocationList();
  if (!revoked || !list)
    throw new HttpError(
      404,
      'CARD_NOT_REVOKED',
      `card ${cardId} is not on the revocation list`,
      'only a revoked card (reported lost or stolen, or a double spend) has a block order',
    );
  const reason = reasonOf(ctx.ledger, cardId, revoked.reason);
  const order = signBlockOrder(ctx.authority.key, {
    cardId: fromHex(cardId),
    reason,
    issuedAt: revoked.revokedAt,
    listSequence: list.sequence,
  });
  return encodeBlockOrderAnswer({
    cardId,
    reason: blockReasonName(reason),
    issuedAt: revoked.revokedAt,
    revocationSequence: list.sequence,
    order: order.envelope,
    authority: ctx.authority.certificate.envelope,
  });
}
