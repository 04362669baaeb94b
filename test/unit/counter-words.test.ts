import { strict as assert } from 'node:assert';
import { describeStatusWord } from '../../protocol/apdu/status-words.js';
import { LIFECYCLE } from '../../protocol/commands/index.js';
import { cardStateLine } from '../../host/cli/counter-commands.js';
import { saleAmount, saleLine } from '../../host/cli/sale-command.js';
import { outcomeLines } from '../../host/daemon/serial-terminals.js';
import { refuseIfNoOpenReader, refuseIfReaderBusy, openToAnySale } from '../../host/sale/sale-request.js';
import type { SaleSnapshot } from '../../host/sale/sale-types.js';

const snap = (o: Partial<SaleSnapshot>): SaleSnapshot =>
  ({
    saleId: '00000000-0000-4000-8000-000000000000',
    requestKey: null,
    amount: 1250,
    currency: 156,
    reader: null,
    state: 'pin',
    pinTriesLeft: null,
    pinOnDevice: false,
    deadline: null,
    notice: null,
    receipt: null,
    error: null,
    createdAt: 0,
    updatedAt: 0,
    ...o,
  }) as SaleSnapshot;

describe("the counter's words (issue 15: tries, amounts, card states, terminal outcomes)", () => {
  it('"1 try left", "2 tries left": the CLI\'s sale line and the 63Cx meaning', () => {
    assert.equal(saleLine(snap({ pinTriesLeft: 1 })), 'waiting for the PIN (1 try left)');
    assert.equal(saleLine(snap({ pinTriesLeft: 2 })), 'waiting for the PIN (2 tries left)');
    assert.equal(describeStatusWord(0x63c1), 'verification failed, 1 try left');
    assert.equal(describeStatusWord(0x63c2), 'verification failed, 2 tries left');
    assert.equal(describeStatusWord(0x63c0), 'verification failed, 0 tries left');
  });

  it('an amount of 0 is refused by the CLI in its own words; 0.01 is an amount', () => {
    assert.throws(() => saleAmount('0'), { code: 'CLI_AMOUNT', message: 'the amount must be more than 0, e.g. 12.50' });
    assert.throws(() => saleAmount('0.00'), { code: 'CLI_AMOUNT' });
    assert.equal(saleAmount('0.01'), 1);
    assert.throws(() => saleAmount('-1'), { code: 'CLI_AMOUNT' });
  });

  it('card info names every life-cycle state: PIN change required, PIN blocked, BLOCKED, TERMINATED', () => {
    assert.match(cardStateLine({ lifecycle: LIFECYCLE.PERSONALISED }), /^state: PIN change required: .*change-pin/);
    assert.match(cardStateLine({ lifecycle: LIFECYCLE.PIN_BLOCKED }), /^state: PIN blocked: .*PUK/);
    assert.match(cardStateLine({ lifecycle: LIFECYCLE.BLOCKED }), /^state: BLOCKED by its issuer/);
    assert.match(cardStateLine({ lifecycle: LIFECYCLE.TERMINATED }), /^state: TERMINATED/);
    assert.equal(cardStateLine({ lifecycle: LIFECYCLE.ACTIVE }), 'state: active');
    assert.match(cardStateLine({ lifecycle: LIFECYCLE.BLANK }), /^state: blank/);
    assert.match(cardStateLine({ lifecycle: 9 }), /unknown life cycle 9/);
  });

  it("a terminal's display after a sale it did not key: the outcome in short lines, never a PIN prompt", () => {
    assert.deepEqual(outcomeLines(snap({ state: 'done' })), ['Paid / 已付款', '¥12.50']);
    assert.deepEqual(outcomeLines(snap({ state: 'cancelled' })), ['Cancelled / 已取消']);
    assert.deepEqual(
      outcomeLines(snap({ state: 'failed', error: { code: 'CARD_INSUFFICIENT_FUNDS', message: '', hint: '' } })),
      ['Declined / 已拒绝'],
    );
    for (const state of ['done', 'cancelled', 'timed_out', 'failed', 'unconfirmed'] as const)
      for (const line of outcomeLines(snap({ state }))) assert.ok(line.length <= 20, line);
  });

  it("a sale naming no reader never meets a serial terminal's slot; named, it does", () => {
    const open = (name: string) => openToAnySale(name.startsWith('serial terminal') ? 'serial-terminal' : 'pcsc');
    const termSale = [{ saleId: 't', state: { reader: 'serial terminal /dev/pts/3', phase: 'pin' } }];
    const anySale = [{ saleId: 'a', state: { reader: null, phase: 'waiting_card' } }];
    assert.doesNotThrow(
      () => refuseIfReaderBusy(undefined, termSale, open),
      'a terminal sale does not block an unnamed one',
    );
    assert.doesNotThrow(() => refuseIfReaderBusy('serial terminal /dev/pts/3', anySale, open));
    assert.throws(() => refuseIfReaderBusy('PCSC 00', anySale, open), { code: 'SALE_IN_PROGRESS' });
    assert.throws(() => refuseIfReaderBusy('serial terminal /dev/pts/3', termSale, open), { code: 'SALE_IN_PROGRESS' });
    assert.throws(() => refuseIfNoOpenReader(undefined, [{ name: 'serial terminal /dev/pts/3' }], open), {
      code: 'SALE_READER_REQUIRED',
    });
    assert.doesNotThrow(() =>
      refuseIfNoOpenReader('serial terminal /dev/pts/3', [{ name: 'serial terminal /dev/pts/3' }], open),
    );
    assert.doesNotThrow(() => refuseIfNoOpenReader(undefined, [], open), 'no reader yet: the sale waits for one');
  });
});
