import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { CardClient } from '../../protocol/commands/index.js';
import type { RefundSnapshot } from '../../host/card-services/refund-service.js';
import type { SaleSnapshot } from '../../host/sale/sale-types.js';
import { DaemonFixture } from '../support/daemon-fixture.js';
import { until } from '../support/settlement-helpers.js';
import { requireSystem } from '../support/system.js';
import { CHROMIUM, assertAccessible, launchChromium, pairedContext, screenshot, watch } from './browser.js';

/**
 * Voids and refunds on the counter page (docs/ui.md "Voids and refunds"): from the history of the day,
 * with the void's confirmation, the refund form with what is left, the outcome in plain words, the day's
 * voids and refunds, and the customer display's new balance, in a real headless Chromium against a whole
 * counter, in zh-CN and English, axe-clean at each screen.
 */
describe('ui: void and refund from the history, and the new balance on the customer display (headless Chromium)', function () {
  this.timeout(120_000);
  let browser: Browser | undefined;
  let f: DaemonFixture | undefined;
  const contexts: BrowserContext[] = [];
  let problems: string[][] = [];

  before(async function () {
    requireSystem(this, existsSync(CHROMIUM) ? [] : ['chromium'], 'apt-get install chromium');
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
  });
  afterEach(async function () {
    for (const c of contexts.splice(0)) await c.close();
    await f?.stop();
    f = undefined;
    if (this.currentTest?.state === 'passed')
      assert.deepEqual(problems.flat(), [], 'no CSP violation, no script error');
    problems = [];
  });

  async function start(language: 'zh-CN' | 'en'): Promise<DaemonFixture> {
    f = await DaemonFixture.start({ config: { ui: { language }, cardServices: { autoSyncAt: null } } });
    return f;
  }

  async function open(c: BrowserContext, path: string): Promise<Page> {
    const page = await c.newPage();
    problems.push((await watch(page)).problems);
    await page.goto(f!.url + path);
    return page;
  }

  async function pages(customerPath: string): Promise<{ counter: Page; customer: Page }> {
    const counterCtx = await pairedContext(browser!, f!.url, f!.token);
    contexts.push(counterCtx);
    const display = await browser!.newContext({ viewport: { width: 1280, height: 800 }, locale: 'zh-CN' });
    contexts.push(display);
    const res = await display.request.post(`${f!.url}/api/v1/pair`, { data: { token: f!.token, scope: 'display' } });
    assert.equal(res.status(), 200);
    const customer = await open(display, customerPath);
    await customer.locator('#prompt').waitFor({ state: 'visible' });
    const counter = await open(counterCtx, '/');
    return { counter, customer };
  }

  async function pay(amount: number): Promise<SaleSnapshot> {
    const r = await f!.api<SaleSnapshot>('POST', '/api/v1/sales', { amount });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const s = await f!.waitForSale(r.body.saleId);
    assert.equal(s.state, 'done', JSON.stringify(s));
    return s;
  }

  async function balance(): Promise<number> {
    const c = new CardClient({ extendedLength: true, transmit: async (a) => f!.applet.transmit(a) });
    await c.select();
    return (await c.getInfo()).balance;
  }

  const settled = () => {
    const c = f!.daemon.store.statusCounts();
    return c.pending.count === 0 && c.sending.count === 0;
  };
  const row = (p: Page, saleId: string) => p.locator(`#hist-table tr[data-sale="${saleId}"]`);

  it('zh-CN: a sale voided from the history with its card in the reader (balance back, shown on the customer display); a void too late offers a refund', async () => {
    await start('zh-CN');
    const before = await balance();
    const sale = await pay(1_250);
    assert.equal(await balance(), before - 1_250);
    const { counter, customer } = await pages('/customer');
    await row(counter, sale.saleId).locator('button.mb-void').waitFor({ timeout: 15_000 });
    assert.equal(await row(counter, sale.saleId).locator('button.mb-refund').count(), 1, 'refund offered too');
    await assertAccessible(counter, 'counter-money-back-row');

    // the confirmation says the card must be in the reader and what happens; nothing happens before it
    await row(counter, sale.saleId).locator('button.mb-void').click();
    await counter.locator('#mb-void').waitFor({ state: 'visible' });
    assert.match(await counter.locator('#mb-h').innerText(), /撤销付款 ¥12\.50/);
    assert.match(await counter.locator('#mb-void-what').innerText(), /全部 ¥12\.50 会退回付款的卡/);
    assert.match(await counter.locator('#mb-void-card').innerText(), /必须现在就在读卡器里/);
    assert.equal(await balance(), before - 1_250, 'nothing given back before the confirmation');
    await assertAccessible(counter, 'counter-void-confirm');
    await counter.locator('#mb-void-go').click();
    await counter.locator('#mb-outcome[data-kind="ok"]').waitFor({ timeout: 20_000 });
    assert.match(await counter.locator('#mb-outcome-what').innerText(), /已撤销：¥12\.50 已退回卡/);
    assert.match(await counter.locator('#mb-outcome-todo').innerText(), /请把卡还给顾客/);
    assert.equal(await balance(), before, 'the balance is back');
    await row(counter, sale.saleId).filter({ hasText: '已撤销，¥12.50 已退回卡上' }).waitFor();
    assert.equal(await row(counter, sale.saleId).locator('button.mb-void, button.mb-refund').count(), 0);
    await counter.locator('#mb-day-table tr[data-kind="void"][data-state="voided"]').waitFor();
    // the Z report shown follows
    await counter.locator('#close-table tr', { hasText: /^撤销 · 已撤销\s*1\s*¥12\.50$/ }).waitFor();
    await screenshot(counter, 'counter-void-done');
    await assertAccessible(counter, 'counter-void-done');

    // what the display may read of it: the amount, the new balance, the card masked; no sale or record id
    const latest = await f!.api<{ void: Record<string, unknown> }>('GET', '/api/v1/topups/latest');
    assert.deepEqual(Object.keys(latest.body.void).sort(), [
      'amount',
      'balance',
      'card',
      'currency',
      'voidId',
      'voidedAt',
    ]);
    assert.equal(latest.body.void.balance, before);
    assert.match(String(latest.body.void.card), /^••[0-9a-f]{4}$/);

    // the customer display shows the money back and the new balance, as after a top-up
    await customer.locator('#topup-screen[data-kind="void"]').waitFor({ state: 'visible', timeout: 10_000 });
    assert.equal(await customer.locator('#tu-head-1').innerText(), '已撤销付款，¥12.50 已退回卡内');
    assert.equal(await customer.locator('#tu-head-2').innerText(), 'Payment voided: ¥12.50 back on the card');
    assert.equal(await customer.locator('#tu-balance-1').innerText(), '卡内余额 ¥5,000.00');
    await screenshot(customer, 'customer-void-balance');
    await assertAccessible(customer, 'customer-void-balance', { aaa: true });

    // too late: the card paid again since; the page says so and offers the refund instead
    const first = await pay(300);
    await pay(200);
    await customer.locator('#tu-close').click();
    await counter.locator('#hist-go').click();
    await row(counter, first.saleId).locator('button.mb-void').click();
    await counter.locator('#mb-void-go').click();
    await counter.locator('#mb-outcome[data-kind="error"]').waitFor({ timeout: 20_000 });
    assert.match(
      await counter.locator('#mb-outcome-what').innerText(),
      /^这张卡在这笔付款之后又付过款或充过值，已经不能撤销。$/,
    );
    assert.match(await counter.locator('#mb-outcome-todo').innerText(), /没有退任何钱。请改用退款/);
    await assertAccessible(counter, 'counter-void-too-late');
    await counter.locator('#mb-instead').click();
    await counter.locator('#mb-refund').waitFor({ state: 'visible' });
    assert.equal(await counter.locator('#mb-amount').inputValue(), '3.00', 'the whole amount by default');
    await row(counter, first.saleId).locator('button.mb-void').waitFor({ state: 'detached' });
    assert.equal(await row(counter, first.saleId).locator('button.mb-refund').count(), 1, 'refund still offered');
  });

  it('English: part of a sale refunded, then the rest; a refund beyond what is left refused in plain words; the display says Refund', async () => {
    await start('en');
    const sale = await pay(2_000);
    await until(settled, 'the sale settled');
    const before = await balance();
    const { counter, customer } = await pages('/customer?lang=en');
    await row(counter, sale.saleId).locator('button.mb-refund').click();
    await counter.locator('#mb-refund').waitFor({ state: 'visible' });
    assert.match(await counter.locator('#mb-h').innerText(), /Refund: payment of ¥20\.00/);
    assert.equal(await counter.locator('#mb-amount').inputValue(), '20.00');
    assert.match(await counter.locator('#mb-refund-left').innerText(), /Left to refund of this payment: ¥20\.00/);
    await assertAccessible(counter, 'counter-refund-form');

    // more than the sale: stopped on the page, nothing sent
    await counter.locator('#mb-amount').fill('25');
    await counter.locator('#mb-refund-go').click();
    await counter.locator('#mb-outcome[data-kind="error"]').waitFor();
    assert.match(await counter.locator('#mb-outcome-what').innerText(), /at most ¥20\.00 can still be refunded/);
    assert.equal(f!.daemon.cardServices!.refunds.ofSale(sale.saleId).length, 0, 'nothing stored');

    // a part
    await counter.locator('#mb-amount').fill('5');
    await counter.locator('#mb-amount').press('Enter');
    await counter.locator('#mb-outcome[data-kind="ok"]').waitFor({ timeout: 20_000 });
    assert.match(await counter.locator('#mb-outcome-what').innerText(), /Refunded: ¥5\.00 is on card .* new balance/);
    assert.equal(await balance(), before + 500);
    await row(counter, sale.saleId).filter({ hasText: 'Refunded ¥5.00, ¥15.00 left' }).waitFor();
    assert.equal(await row(counter, sale.saleId).locator('button.mb-void').count(), 0, 'no void after a refund');
    await customer.locator('#topup-screen[data-kind="refund"]').waitFor({ state: 'visible', timeout: 10_000 });
    assert.equal(await customer.locator('#tu-head-1').innerText(), 'Refund: ¥5.00 back on the card');
    assert.equal(await customer.locator('#tu-head-2').innerText(), '退款 ¥5.00 已退回卡内');
    await assertAccessible(customer, 'customer-refund-balance', { aaa: true });
    await assertAccessible(counter, 'counter-refund-part');

    // the form opened with ¥15.00 left; meanwhile ¥5.00 more is refunded elsewhere: the daemon's refusal, in words
    await row(counter, sale.saleId).locator('button.mb-refund').click();
    assert.equal(await counter.locator('#mb-amount').inputValue(), '15.00');
    const other = await f!.api<RefundSnapshot>('POST', '/api/v1/refunds', { saleId: sale.saleId, amount: 500 });
    assert.equal(other.body.state, 'credited', JSON.stringify(other.body));
    await counter.locator('#mb-refund-go').click();
    await counter.locator('#mb-outcome[data-kind="error"]').waitFor({ timeout: 20_000 });
    assert.match(await counter.locator('#mb-outcome-what').innerText(), /at most ¥10\.00 can still be refunded/);
    await assertAccessible(counter, 'counter-refund-over');

    // the rest, by default
    await counter.locator('#mb-refund-back').click();
    await row(counter, sale.saleId).locator('button.mb-refund').click();
    assert.equal(await counter.locator('#mb-amount').inputValue(), '10.00');
    await counter.locator('#mb-refund-go').click();
    await counter.locator('#mb-outcome[data-kind="ok"]').waitFor({ timeout: 20_000 });
    assert.equal(await balance(), before + 2_000, 'the whole sale back, once');
    await row(counter, sale.saleId).filter({ hasText: 'Refunded in full: ¥20.00' }).waitFor();
    assert.equal(await row(counter, sale.saleId).locator('button.mb-refund').count(), 0);
    await counter.locator('#mb-day-table tr[data-state="credited"]').nth(2).waitFor();
    assert.match(
      await counter.locator('#mb-day-table').innerText(),
      /Refund\s+¥10\.00\s+…[0-9A-F]{4}\s+Credited to the card/,
    );
    await screenshot(counter, 'counter-refund-rest');
    await assertAccessible(counter, 'counter-refund-rest');
  });

  it('a refund while the card is away is queued: "credited at the card’s next tap", then it is, and the list says so', async () => {
    await start('en');
    const sale = await pay(900);
    await until(settled, 'the sale settled');
    const before = await balance();
    const { counter } = await pages('/customer?lang=en');
    f!.reader.remove();
    // a void needs the card: said so, nothing done
    await row(counter, sale.saleId).locator('button.mb-void').click();
    await counter.locator('#mb-void-go').click();
    await counter.locator('#mb-outcome[data-kind="error"]').waitFor({ timeout: 20_000 });
    assert.equal(await counter.locator('#mb-outcome-what').innerText(), 'No card is in the reader.');
    assert.match(await counter.locator('#mb-outcome-todo').innerText(), /Put the card that paid in the reader/);
    await assertAccessible(counter, 'counter-void-no-card');
    await row(counter, sale.saleId).locator('button.mb-refund').click();
    await counter.locator('#mb-amount').fill('4.00');
    await counter.locator('#mb-refund-go').click();
    await counter.locator('#mb-outcome[data-kind="calm"]').waitFor({ timeout: 20_000 });
    assert.match(
      await counter.locator('#mb-outcome-what').innerText(),
      /Refund of ¥4\.00 recorded, not on the card yet/,
    );
    assert.match(await counter.locator('#mb-outcome-todo').innerText(), /credited at the card's next tap/);
    await counter.locator('#mb-day-table tr[data-state="pending"]').waitFor();
    await assertAccessible(counter, 'counter-refund-queued');
    f!.reader.insert(f!.applet);
    await counter.locator('#mb-day-table tr[data-state="credited"]').waitFor({ timeout: 20_000 });
    assert.equal(await balance(), before + 400);
  });
});
