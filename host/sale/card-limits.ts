import { type CardInfo, type CardStatusName, type Limits } from '../../protocol/commands/index.js';
import { CardpostError } from '../../protocol/errors.js';

/** The card refusals the host can foresee from GET_INFO and the certificate, before any PIN prompt. */
export type CardLimitStatus = Extract<
  CardStatusName,
  'OVER_TRANSACTION_LIMIT' | 'INSUFFICIENT_FUNDS' | 'OFFLINE_AMOUNT_LIMIT' | 'OFFLINE_COUNT_LIMIT'
>;

/**
 * An amount the card would refuse, found before the PIN: the same code the card gives
 * (`CARD_<status>`, docs/errors.md), a message with the figures, and what to do about it.
 */
export class CardLimitError extends CardpostError {
  constructor(
    override readonly code: `CARD_${CardLimitStatus}`,
    message: string,
    hint: string,
  ) {
    super(code, message, hint);
  }
}

/** What the check reads from the card: GET_INFO's purse and limits, and the limits its certificate signs. */
export type CardPurse = Pick<CardInfo, 'balance' | 'offlineAmount' | 'offlineCount' | 'limits'>;

/** The stricter of two sets of limits (GET_INFO's, which the card enforces, and the certificate's, which the bank holds it to). */
export function stricterLimits(a: Limits | undefined, b: Limits | undefined): Limits | undefined {
  if (!a || !b) return a ?? b;
  return {
    perTransaction: Math.min(a.perTransaction, b.perTransaction),
    noPin: Math.min(a.noPin, b.noPin),
    offlineAmount: Math.min(a.offlineAmount, b.offlineAmount),
    offlineCount: Math.min(a.offlineCount, b.offlineCount),
    maxBalance: Math.min(a.maxBalance, b.maxBalance),
  };
}

/**
 * Why the card would refuse to sign `amount`, or undefined if it would not on these grounds. Pure.
 * The checks run in the card's own order (SIGN_TXN, docs/protocol.md): per-payment limit, balance,
 * cumulative offline amount, offline count, so the code is the one the card would answer with.
 * `amounts` formats minor units for the message (e.g. "¥25.00").
 */
export function cardLimitRefusal(
  purse: CardPurse,
  amount: number,
  certificateLimits?: Limits,
  amounts: (minor: number) => string = String,
): CardLimitError | undefined {
  const limits = stricterLimits(purse.limits, certificateLimits);
  if (!limits) return undefined; // a blank card: refused elsewhere
  if (amount > limits.perTransaction) {
    return new CardLimitError(
      'CARD_OVER_TRANSACTION_LIMIT',
      `${amounts(amount)} is above this card's limit for one payment (${amounts(limits.perTransaction)}); no PIN was asked`,
      `take a smaller amount (at most ${amounts(limits.perTransaction)}), split the sale, or pay another way`,
    );
  }
  if (amount > purse.balance) {
    return new CardLimitError(
      'CARD_INSUFFICIENT_FUNDS',
      `the card holds ${amounts(purse.balance)}, less than ${amounts(amount)}; no PIN was asked`,
      `top up the card, take a smaller amount (at most ${amounts(purse.balance)}), or pay another way`,
    );
  }
  const room = Math.max(0, limits.offlineAmount - purse.offlineAmount);
  if (purse.offlineAmount + amount > limits.offlineAmount) {
    return new CardLimitError(
      'CARD_OFFLINE_AMOUNT_LIMIT',
      `the card has paid ${amounts(purse.offlineAmount)} offline since its last sync; ${amounts(amount)} more would pass its offline limit of ${amounts(limits.offlineAmount)}; no PIN was asked`,
      room > 0
        ? `sync or top up the card online first, or take a smaller amount (at most ${amounts(room)})`
        : 'sync or top up the card online first (the bank must be reachable)',
    );
  }
  if (purse.offlineCount + 1 > limits.offlineCount) {
    return new CardLimitError(
      'CARD_OFFLINE_COUNT_LIMIT',
      `the card has made ${purse.offlineCount} offline payments since its last sync, its limit (${limits.offlineCount}); no PIN was asked`,
      'sync or top up the card online first (the bank must be reachable)',
    );
  }
  return undefined;
}
