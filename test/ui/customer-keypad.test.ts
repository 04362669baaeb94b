import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { DaemonFixture, FIXTURE_PIN } from '../support/daemon-fixture.js';
import { requireSystem } from '../support/system.js';
import { CHROMIUM, assertAccessible, launchChromium, pairedContext, screenshot, watch } from './browser.js';
import { Traffic, assertFitsScreen, assertNoSecrets, clickDigits } from './pin-traffic.js';

/**
 * A sale's PIN typed on the customer display's own keypad (issues 14 and 15) in a real headless
 * Chromium: large keys, dots for the digits, the tries left boxed after a wrong PIN, and the PIN
 * posted by the display only (its own display-scope cookie); the counter page never sees a digit.
 */
describe("ui: a sale's PIN on the customer display keypad (headless Chromium)", function () {
  this.timeout(90_000);
  let browser: Browser | undefined;
  let f: DaemonFixture;
  const contexts: BrowserContext[] = [];
  let problems: string[][] = [];

  before(async function () {
    requireSystem(this, existsSync(CHROMIUM) ? [] : ['chromium'], 'apt-get install chromium');
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
  });
  beforeEach(async () => {
    // The product's default (sale.pinEntry customer-display): the counter page has no PIN field at all.
    f = await DaemonFixture.start({ config: { sale: { pinEntry: 'customer-display' } } });
    problems = [];
  });
  afterEach(async function () {
    for (const c of contexts.splice(0)) await c.close();
    await f.stop();
    if (this.currentTest?.state === 'passed') assert.deepEqual(problems.flat(), [], 'no CSP violation or script error');
  });

  async function open(c: BrowserContext, path: string, before?: (p: Page) => Promise<unknown>): Promise<Page> {
    const page = await c.newPage();
    problems.push((await watch(page)).problems);
    await before?.(page);
    await page.goto(f.url + path);
    return page;
  }

  async function displayContext(): Promise<BrowserContext> {
    const c = await browser!.newContext({ viewport: { width: 1280, height: 800 }, locale: 'zh-CN' });
    const res = await c.request.post(`${f.url}/api/v1/pair`, { data: { token: f.token, scope: 'display' } });
    assert.equal(res.status(), 200);
    contexts.push(c);
    return c;
  }

  it('wrong PIN clicked on the display keypad: tries left boxed; the right PIN typed on its keyboard pays; the counter never sees a digit', async () => {
    const counterCtx = await pairedContext(browser!, f.url, f.token);
    contexts.push(counterCtx);
    let counterTraffic: Traffic | undefined;
    const counter = await open(counterCtx, '/', async (p) => (counterTraffic = await Traffic.record(p)));
    let displayTraffic: Traffic | undefined;
    const customer = await open(
      await displayContext(),
      '/customer',
      async (p) => (displayTraffic = await Traffic.record(p)),
    );
    await counter.locator('#net.net-online').waitFor({ timeout: 10_000 });
    await customer.locator('#prompt').waitFor({ state: 'visible', timeout: 10_000 });

    await counter.bringToFront();
    await counter.keyboard.type('150.00');
    await counter.keyboard.press('Enter');
    await customer.locator('#display[data-state="pin"]').waitFor({ timeout: 10_000 });
    await customer.locator('#keypad').waitFor({ state: 'visible', timeout: 10_000 });
    // The merchant's screen: no PIN field, only that the customer is typing it on the display.
    await counter.locator('#sale-detail', { hasText: 'customer display' }).waitFor({ timeout: 10_000 });
    assert.equal(await counter.locator('#pin-form').isVisible(), false, 'no PIN field on the counter page');

    // Keys: 0–9, Clear and OK, each at least 64 px, with zh + en names; focus on the keypad.
    const keys = customer.locator('#kp-keys button');
    assert.equal(await keys.count(), 12);
    for (let i = 0; i < 12; i++) {
      const box = (await keys.nth(i).boundingBox())!;
      assert.ok(box.width >= 64 && box.height >= 64, `key ${i} is at least 64×64 px (${box.width}×${box.height})`);
    }
    assert.equal(await customer.getByRole('button', { name: /^确定\s*OK$/ }).count(), 1);
    assert.equal(await customer.getByRole('button', { name: /^清除\s*Clear$/ }).count(), 1);
    assert.equal(await customer.locator('#kp-label span').first().getAttribute('lang'), 'zh-CN');
    assert.equal(
      await customer.evaluate(
        () => (globalThis as unknown as { document: { activeElement: { id: string } } }).document.activeElement.id,
      ),
      'keypad',
    );
    assert.equal(await customer.locator('#primary').innerText(), '请输入密码');
    await screenshot(customer, 'customer-keypad-sale');
    await assertAccessible(customer, 'customer-keypad-sale', { aaa: true });
    await assertFitsScreen(customer, 'customer-keypad-sale');

    // Too short: said so, nothing sent. Then Clear empties the dots.
    await clickDigits(customer, '98');
    await customer.locator('#kp-msg', { hasText: '至少要输入 4 位数字' }).waitFor();
    assert.equal(await customer.locator('#kp-dots .kp-dot').count(), 2);
    await customer.locator('#kp-keys button[data-key="clear"]').click();
    assert.equal(await customer.locator('#kp-dots .kp-dot').count(), 0);

    // A wrong PIN by touch: one dot per digit, never the digit.
    await clickDigits(customer, '9864', false);
    assert.equal(await customer.locator('#kp-dots .kp-dot').count(), 4);
    assert.match(await customer.locator('#kp-count').innerText(), /已输入 4 位\s+4 digits typed/);
    assert.ok(!(await customer.locator('#keypad').innerText()).includes('9864'));
    await customer.locator('#kp-keys button[data-key="ok"]').click();
    await customer.locator('#detail[data-warn="tries"]', { hasText: '剩余 2 次' }).waitFor({ timeout: 10_000 });
    assert.equal(await customer.locator('#primary').innerText(), '密码错误，请重新输入');
    assert.equal(await customer.locator('#kp-dots .kp-dot').count(), 0, 'the keypad is empty again');
    const border = await customer
      .locator('#detail')
      .evaluate(
        (el) =>
          (globalThis as unknown as { getComputedStyle(e: unknown): { borderTopWidth: string } }).getComputedStyle(el)
            .borderTopWidth,
      );
    assert.ok(parseFloat(border) >= 4, `the tries left are boxed (${border})`);
    await screenshot(customer, 'customer-keypad-sale-wrong');
    await assertAccessible(customer, 'customer-keypad-sale-wrong', { aaa: true });
    await assertFitsScreen(customer, 'customer-keypad-sale-wrong');

    // Another wrong one from a keyboard attached to the display: the last try, warned loudest.
    await customer.bringToFront();
    await customer.keyboard.type('8642');
    await customer.keyboard.press('Enter');
    await customer.locator('#detail[data-warn="last"]', { hasText: '再错将锁卡' }).waitFor({ timeout: 10_000 });
    assert.match(await customer.locator('#detail').innerText(), /one more wrong PIN locks the card/);
    await screenshot(customer, 'customer-keypad-sale-last');
    await assertAccessible(customer, 'customer-keypad-sale-last', { aaa: true });

    // The right PIN from the keyboard: number keys, a Backspace, Enter.
    await customer.keyboard.type(FIXTURE_PIN + '7');
    await customer.keyboard.press('Backspace');
    assert.equal(await customer.locator('#kp-dots .kp-dot').count(), 4);
    await customer.keyboard.press('Enter');
    await customer.locator('#display[data-state="done"]').waitFor({ timeout: 15_000 });
    await counter.locator('#sale-state[data-state="done"]').waitFor({ timeout: 10_000 });
    assert.equal(await customer.locator('#keypad').isHidden(), true, 'the keypad goes with the PIN step');
    assert.equal(await counter.locator('#receipt-pin').innerText(), 'verified by the card');

    // The PIN went from the display to the daemon, and nowhere near the counter page.
    const sent = await displayTraffic!.all();
    assert.match(sent, /POST \S+\/api\/v1\/sales\/\S+\/pin \{"pin":"9864"\}/);
    await assertNoSecrets(counter, counterTraffic!, ['9864', '8642'], 'counter page');
    assert.doesNotMatch(
      await counterTraffic!.all(),
      /"pin"\s*:\s*"\d/,
      'no PIN in any request or answer of the counter',
    );
  });

  it('a sale under the no-PIN limit never opens the keypad', async () => {
    const customer = await open(await displayContext(), '/customer');
    await customer.locator('#prompt').waitFor({ state: 'visible', timeout: 10_000 });
    // A sale under the no-PIN limit never asks: no keypad at any point.
    const sale = await f.api<{ saleId: string }>('POST', '/api/v1/sales', { amount: 500 });
    assert.equal((await f.waitForSale(sale.body.saleId)).state, 'done');
    await customer.locator('#display[data-state="done"]').waitFor({ timeout: 10_000 });
    assert.equal(await customer.locator('#keypad').isHidden(), true);
  });
});
