import type { MoneyBackPort } from '../api/port.js';
import type { DayBook } from '../close/day-book.js';
import { requireShopDate, shopDayBounds } from '../close/shop-day.js';
import type { CardServices } from './card-services.js';

/**
 * The API's view of voids and refunds (docs/host-api.md §5.8), over the counter's card services, with
 * the shop's day (its time zone) for the day's list: what the day close and the counter page read.
 */
export function moneyBackPort(cards: CardServices, days: DayBook): MoneyBackPort {
  return {
    voidSale: (saleId, reader) => cards.voids.void(saleId, reader),
    voidOf: (saleId) => cards.voids.ofSale(saleId),
    startRefund: (req) => cards.refunds.refund(req),
    refund: (refundId) => cards.refunds.get(refundId),
    latestVoid: (withinMs) => cards.voids.latest(withinMs),
    day: (date) => {
      const d = date ?? days.today();
      requireShopDate(d);
      const [from, to] = shopDayBounds(d, days.timeZone);
      return { date: d, timeZone: days.timeZone, ...cards.moneyBackBetween(from, to) };
    },
  };
}
