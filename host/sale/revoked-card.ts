import { bytesEqual, toHex } from '../../protocol/bytes.js';
import { CARD_STATUS, CardClient, LIFECYCLE } from '../../protocol/commands/index.js';
import { CardpostError } from '../../protocol/errors.js';
import {
  CERT_KIND,
  verifyBlockOrder,
  verifyCertificate,
  type BlockOrder,
  type Certificate,
  type TrustStore,
} from '../../protocol/record/index.js';
import type { BlockOrderAnswer, BlockReasonName } from '../../protocol/bank/block-order.js';
import type { CardReader } from '../../protocol/transport.js';
import { CardSessionError } from '../session/card-session.js';

type Log = { info(o: object, msg: string): void; warn(o: object, msg: string): void };

export interface RevokedCardOptions {
  /** GET /v1/cards/{cardId}/block-order (host/settlement/bank-client.ts). */
  bank: { blockOrder(cardId: string): Promise<BlockOrderAnswer> };
  trust: TrustStore;
  /** Whether the bank answers now: offline, a revoked card is refused by the list alone, as before. */
  online: () => boolean;
  /** Unix milliseconds. */
  now: () => number;
  log?: Log;
}

const HOW = {
  lost: 'reported lost',
  stolen: 'reported stolen',
  fraud: 'revoked by its issuer after a double spend',
  withdrawn: 'withdrawn by its issuer',
} as const satisfies Record<BlockReasonName, string>;

/** A blocked card at any counter, list or not (docs/protocol.md §6.1): plain words for the person at the counter. */
export function blockedCardError(cardId: string): CardSessionError {
  return new CardSessionError(
    'CARD_BLOCKED',
    `card ••${cardId.slice(-4)} was blocked by its issuer (reported lost or stolen, or withdrawn): it cannot pay`,
    CARD_STATUS.BLOCKED.hint,
  );
}

/**
 * A card on the revocation list, met at a counter (docs/protocol.md §4.8, §7.4): the sale is refused
 * with CARD_REVOKED whatever happens here, and when the bank is reachable the card is also blocked on
 * the card itself with the bank's signed block order, so that it is refused at counters that have not
 * fetched the list yet. The order is checked before the card sees it (and the card checks it again).
 * Kept out of the sale state machine: it runs in the card session that found the revocation, the
 * reader held, and any failure is logged and leaves the refusal as it was.
 */
export class RevokedCardBlocker {
  constructor(private readonly o: RevokedCardOptions) {}

  /** Block the card in `reader` if it can be; returns the refusal to throw (CARD_REVOKED, its words saying what happened). */
  async refuse(reader: CardReader, refusal: CardpostError): Promise<CardpostError> {
    let cardId = '';
    try {
      const client = new CardClient(reader);
      await client.select();
      const info = await client.getInfo();
      if (!info.cardId) return refusal;
      cardId = toHex(info.cardId);
      if (info.lifecycle === LIFECYCLE.BLOCKED) return this.blocked(cardId, refusal, undefined);
      if (!this.o.online()) return refusal;
      const answer = await this.o.bank.blockOrder(cardId);
      this.check(answer.order, answer.authority, info.cardId);
      await client.blockCard(answer.order.envelope, answer.authority.envelope);
      this.o.log?.info(
        { cardId, reason: answer.reason, revocationSequence: answer.revocationSequence },
        'revoked card blocked on the card',
      );
      return this.blocked(cardId, refusal, answer.reason);
    } catch (e) {
      this.o.log?.warn(
        { cardId: cardId || undefined, err: e instanceof Error ? e.message : String(e) },
        'revoked card refused but not blocked on the card',
      );
      return refusal;
    }
  }

  /** The order must be signed by a top-up authority of an issuer this counter trusts, and name this card. */
  private check(order: BlockOrder, authority: Certificate, cardId: Uint8Array): void {
    const issuer = this.o.trust.issuerFor(authority);
    const cert = issuer
      ? verifyCertificate(authority, issuer, { kind: CERT_KIND.AUTHORITY, now: Math.floor(this.o.now() / 1000) })
      : { ok: false as const, detail: 'its issuer is not trusted here' };
    const why = !cert.ok
      ? `the signer's certificate is not valid: ${cert.detail}`
      : !verifyBlockOrder(order, authority.algorithm, authority.publicKey)
        ? 'its signature does not verify'
        : !bytesEqual(order.cardId, cardId)
          ? `it is for card ${toHex(order.cardId)}`
          : undefined;
    if (why)
      throw new CardSessionError(
        'BLOCK_ORDER_REFUSED',
        `the bank's block order was not sent to the card: ${why}`,
        'the card is still refused here; report this to the bank',
      );
  }

  private blocked(cardId: string, refusal: CardpostError, reason: BlockReasonName | undefined): CardSessionError {
    const how = reason ? `${HOW[reason]} and is now blocked on the card itself` : 'reported and is blocked on the card';
    return new CardSessionError(
      'CARD_REVOKED',
      `card ••${cardId.slice(-4)} refused: it was ${how}; it cannot pay anywhere`,
      refusal.hint,
      { cause: refusal },
    );
  }
}
