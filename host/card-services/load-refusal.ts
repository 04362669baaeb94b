import { LIFECYCLE, type CardInfo, type Limits } from '../../protocol/commands/index.js';
import { formatMoney } from '../daemon/money.js';
import { stricterLimits } from '../sale/card-limits.js';
import { TopupError } from './topup-types.js';

/**
 * Why the card would refuse to LOAD this top-up (docs/protocol.md §4.5, §6.1), known from GET_INFO and
 * its certificate before the bank is asked, or undefined. Pure. Nothing is stored or charged.
 */
export function loadRefusal(
  info: Pick<CardInfo, 'lifecycle' | 'balance' | 'currency' | 'limits'>,
  certificateLimits: Limits | undefined,
  amount: number,
  currency: number | undefined,
): TopupError | undefined {
  const no = (message: string, hint: string) =>
    new TopupError('TOPUP_NOT_POSSIBLE', `${message}; nothing was charged`, hint);
  if (info.lifecycle === LIFECYCLE.PERSONALISED)
    return no(
      'the card is not activated yet: it still has its issuer’s transport PIN and cannot load money',
      'activate it first (counter page "Activate new card", or `cardpost card change-pin`), then top up',
    );
  if (info.lifecycle === LIFECYCLE.BLOCKED || info.lifecycle === LIFECYCLE.TERMINATED)
    return no(
      'the card is blocked or terminated and cannot load money',
      'take no money for it: the holder asks the issuer for a new card (the issuer keeps the balance)',
    );
  if (currency !== undefined && info.currency !== undefined && currency !== info.currency)
    return no(`the card's purse is in currency ${info.currency}, not ${currency}`, "top up in the card's currency");
  const max = stricterLimits(info.limits, certificateLimits)?.maxBalance;
  if (max !== undefined && info.balance + amount > max) {
    const cur = info.currency ?? currency ?? 156;
    const room = Math.max(0, max - info.balance);
    return no(
      `the card may hold at most ${formatMoney(max, cur)} and holds ${formatMoney(info.balance, cur)}`,
      room > 0 ? `top up at most ${formatMoney(room, cur)}` : 'the card is full: no top-up is possible until it pays',
    );
  }
  return undefined;
}
