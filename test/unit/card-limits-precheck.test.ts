import { strict as assert } from 'node:assert';
import { cardLimitRefusal, stricterLimits } from '../../host/sale/card-limits.js';

const limits = {
  perTransaction: 200_000,
  noPin: 10_000,
  offlineAmount: 1_000_000,
  offlineCount: 500,
  maxBalance: 10_000_000,
};
const purse = (o: Partial<{ balance: number; offlineAmount: number; offlineCount: number }> = {}) => ({
  balance: 500_000,
  offlineAmount: 0,
  offlineCount: 0,
  limits,
  ...o,
});

describe('sale: the card-limit check before the PIN (host/sale/card-limits.ts)', () => {
  it('passes an amount the card would sign, up to each limit exactly', () => {
    assert.equal(cardLimitRefusal(purse(), 200_000), undefined);
    assert.equal(cardLimitRefusal(purse({ balance: 1_000 }), 1_000), undefined);
    assert.equal(cardLimitRefusal(purse({ offlineAmount: 999_000 }), 1_000), undefined);
    assert.equal(cardLimitRefusal(purse({ offlineCount: 499 }), 1), undefined);
  });

  it('gives the code the card would, in the card order (per payment, balance, offline amount, offline count)', () => {
    const code = (p: ReturnType<typeof purse>, amount: number) => cardLimitRefusal(p, amount)?.code;
    assert.equal(code(purse({ balance: 0, offlineCount: 500 }), 200_001), 'CARD_OVER_TRANSACTION_LIMIT');
    assert.equal(code(purse({ balance: 100, offlineCount: 500 }), 101), 'CARD_INSUFFICIENT_FUNDS');
    assert.equal(code(purse({ offlineAmount: 999_000, offlineCount: 500 }), 1_001), 'CARD_OFFLINE_AMOUNT_LIMIT');
    assert.equal(code(purse({ offlineCount: 500 }), 1), 'CARD_OFFLINE_COUNT_LIMIT');
  });

  it('says what to do, with the figures', () => {
    const money = (m: number) => `¥${(m / 100).toFixed(2)}`;
    const over = cardLimitRefusal(purse(), 250_000, undefined, money)!;
    assert.match(over.message, /¥2500\.00.*¥2000\.00/);
    assert.match(over.hint, /smaller amount \(at most ¥2000\.00\)/);
    assert.match(cardLimitRefusal(purse({ balance: 100 }), 200, undefined, money)!.hint, /top up/);
    assert.match(cardLimitRefusal(purse({ offlineAmount: 999_000 }), 2_000, undefined, money)!.hint, /sync.*¥10\.00/);
    assert.match(cardLimitRefusal(purse({ offlineAmount: 1_000_000 }), 1, undefined, money)!.hint, /^sync/);
    assert.match(cardLimitRefusal(purse({ offlineCount: 500 }), 1, undefined, money)!.hint, /^sync/);
  });

  it("holds the amount to the stricter of GET_INFO's limits and the certificate's", () => {
    const cert = { ...limits, perTransaction: 50_000 };
    assert.equal(cardLimitRefusal(purse(), 60_000, cert)?.code, 'CARD_OVER_TRANSACTION_LIMIT');
    assert.equal(stricterLimits(limits, undefined), limits);
    assert.equal(stricterLimits(undefined, undefined), undefined);
    assert.equal(
      cardLimitRefusal({ ...purse(), limits: undefined }, 1),
      undefined,
      'a blank card is refused elsewhere',
    );
  });
});
