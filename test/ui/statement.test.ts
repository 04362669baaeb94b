import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { SaleSnapshot } from '../../host/sale/sale-types.js';
import { DaemonFixture } from '../support/daemon-fixture.js';
import { requireSystem } from '../support/system.js';
import { CHROMIUM, assertAccessible, launchChromium, pairedContext, screenshot, watch } from './browser.js';

/**
 * The holder's statement (issue 14) in a real headless Chromium: the cashier presses "Show statement
 * on display" on the counter page; the customer display (paired as a display only) shows the card's
 * balance and its payments, newest first, zh-CN first with English beneath, then English first.
 */
describe("ui: the holder's statement on the customer display (headless Chromium)", function () {
  this.timeout(90_000);
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
    if (this.currentTest?.state === 'passed') assert.deepEqual(problems.flat(), [], 'no CSP violation or script error');
    problems = [];
  });

  async function open(c: BrowserContext, path: string): Promise<Page> {
    const page = await c.newPage();
    problems.push((await watch(page)).problems);
    await page.goto(f!.url + path);
    return page;
  }

  /** A browser context paired as the customer display only (its own cookie, scope display). */
  async function displayContext(locale: string): Promise<BrowserContext> {
    const c = await browser!.newContext({ viewport: { width: 1280, height: 800 }, locale });
    const res = await c.request.post(`${f!.url}/api/v1/pair`, { data: { token: f!.token, scope: 'display' } });
    assert.equal(res.status(), 200);
    contexts.push(c);
    return c;
  }

  async function pay(amount: number): Promise<void> {
    const res = await f!.api<SaleSnapshot>('POST', '/api/v1/sales', { amount });
    assert.equal((await f!.waitForSale(res.body.saleId)).state, 'done');
  }

  it('shown from the counter: balance and payments newest first, zh-CN then English; axe-clean; closed by the holder', async () => {
    f = await DaemonFixture.start({ balance: 100_000 });
    await pay(1_250);
    await pay(3_080);
    const counterCtx = await pairedContext(browser!, f.url, f.token);
    contexts.push(counterCtx);
    const counter = await open(counterCtx, '/');
    const customer = await open(await displayContext('zh-CN'), '/customer?lang=zh-CN');
    await customer.locator('#prompt').waitFor({ state: 'visible', timeout: 10_000 });

    // The cashier shows the statement of the card in the reader.
    const button = counter.getByRole('button', { name: /Show statement on display: the card in fixture reader/ });
    await button.waitFor({ timeout: 10_000 });
    await button.click();
    await counter
      .locator('#statement-msg', { hasText: /on the customer display: balance ¥956\.70, 2 recent payments/ })
      .waitFor({ timeout: 10_000 });
    await screenshot(counter, 'counter-statement-shown');
    await assertAccessible(counter, 'counter-statement');

    // The display picks the offer up by itself (it polls every 2 s).
    await customer.locator('#statement').waitFor({ state: 'visible', timeout: 10_000 });
    assert.equal(await customer.locator('#prompt').isHidden(), true, 'the statement has the screen');
    const title = customer.locator('#statement-h span');
    assert.equal(await title.nth(0).innerText(), '余额和最近交易');
    assert.equal(await title.nth(0).getAttribute('lang'), 'zh-CN');
    assert.equal(await title.nth(1).innerText(), 'Balance and recent payments');
    assert.equal(await title.nth(1).getAttribute('lang'), 'en');
    assert.match(await customer.locator('.st-balance').innerText(), /卡内余额 ¥956\.70\s+Balance on the card ¥956\.70/);
    const rows = customer.locator('#st-rows tr');
    assert.equal(await rows.count(), 2);
    assert.match(await rows.nth(0).innerText(), /M-TEST\s+¥30\.80\s+¥956\.70/, 'newest first');
    assert.match(await rows.nth(1).innerText(), /M-TEST\s+¥12\.50\s+¥987\.50/);
    assert.match(await rows.nth(0).innerText(), /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}/);
    assert.match(await customer.locator('#st-head').innerText(), /日期\s+Date/);
    await screenshot(customer, 'customer-statement-zh');
    await assertAccessible(customer, 'customer-statement-zh', { aaa: true });

    // English first: the language switch re-renders the statement.
    await customer.locator('#lang').click();
    await customer.locator('#statement-h span', { hasText: 'Balance and recent payments' }).first().waitFor();
    assert.equal(await title.nth(0).innerText(), 'Balance and recent payments');
    assert.equal(await title.nth(1).innerText(), '余额和最近交易');
    assert.match(await customer.locator('.st-balance').innerText(), /^Balance on the card ¥956\.70\s+卡内余额/);
    await screenshot(customer, 'customer-statement-en');
    await assertAccessible(customer, 'customer-statement-en', { aaa: true });

    // The holder closes it: back to the welcome prompt.
    await customer.locator('#st-close').click();
    await customer.locator('#prompt').waitFor({ state: 'visible' });
    assert.equal(await customer.locator('#statement').isHidden(), true);
  });

  it('an empty journal says so on the display; a new sale takes the screen back', async () => {
    f = await DaemonFixture.start();
    const customer = await open(await displayContext('en-GB'), '/customer?lang=en');
    await customer.locator('#prompt').waitFor({ state: 'visible', timeout: 10_000 });
    assert.equal(
      (await f.api('GET', `/api/v1/readers/${encodeURIComponent('fixture reader')}/statement?show=true`)).status,
      200,
    );
    await customer.locator('#st-empty').waitFor({ state: 'visible', timeout: 10_000 });
    assert.match(await customer.locator('#st-empty').innerText(), /^No payments on the card yet\s+卡内还没有交易记录/);
    assert.equal(await customer.locator('#st-table').isHidden(), true);
    await screenshot(customer, 'customer-statement-empty');
    await assertAccessible(customer, 'customer-statement-empty', { aaa: true });

    const sale = await f.api<SaleSnapshot>('POST', '/api/v1/sales', { amount: 150_000, reader: 'fixture reader' });
    await f.waitForSale(sale.body.saleId, ['pin']);
    await customer.locator('#display[data-state="pin"] #prompt').waitFor({ state: 'visible', timeout: 10_000 });
    assert.equal(await customer.locator('#statement').isHidden(), true, 'a live sale hides the statement');
  });
});
