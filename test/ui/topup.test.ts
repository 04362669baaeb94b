import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { DaemonFixture } from '../support/daemon-fixture.js';
import { requireSystem } from '../support/system.js';
import { CHROMIUM, assertAccessible, launchChromium, pairedContext, screenshot, watch } from './browser.js';

/**
 * Top-up and sync on the pages (docs/ui.md "Top-up and sync"): the counter page's form, and the
 * customer display's new-balance screen, in a real headless Chromium against a whole counter.
 */
describe('ui: top-up form and the new-balance screen (headless Chromium)', function () {
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
    f = await DaemonFixture.start({ config: { cardServices: { autoSyncAt: null } } });
    problems = [];
  });
  afterEach(async function () {
    for (const c of contexts.splice(0)) await c.close();
    await f.stop();
    if (this.currentTest?.state === 'passed')
      assert.deepEqual(problems.flat(), [], 'no CSP violation, no script error');
  });

  async function open(c: BrowserContext, path: string): Promise<Page> {
    const page = await c.newPage();
    problems.push((await watch(page)).problems);
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

  it('the counter tops up the card in cash; the customer display shows the new balance in large type, Chinese first', async () => {
    const counterCtx = await pairedContext(browser!, f.url, f.token);
    contexts.push(counterCtx);
    const counter = await open(counterCtx, '/');
    await counter.locator('#topup-form').waitFor({ state: 'visible' });
    const customer = await open(await displayContext(), '/customer');
    await customer.locator('#prompt').waitFor({ state: 'visible' });

    // A bad amount: told what to type, nothing sent.
    await counter.locator('#topup-amount').fill('abc');
    await counter.locator('#topup-go').click();
    // The page answers in its submit handler: wait for its words (read at once, a loaded CI machine saw '').
    await counter
      .locator('#topup-msg')
      .filter({ hasText: /Type the amount/ })
      .waitFor({ timeout: 10_000 });
    assert.match(await counter.locator('#topup-msg').innerText(), /Type the amount/);
    await assertAccessible(counter, 'counter-topup-form');

    await counter.locator('#topup-amount').fill('200.00');
    await counter.locator('#topup-amount').press('Enter'); // the form's own submit, keyboard only
    await counter.locator('#topup-msg[data-kind="ok"]').waitFor({ timeout: 20_000 });
    const msg = await counter.locator('#topup-msg').innerText();
    assert.match(msg, /Topped up ¥200\.00 \(cash\)/);
    assert.match(msg, /New balance: ¥5,200\.00/);
    await screenshot(counter, 'counter-topup-done');
    await assertAccessible(counter, 'counter-topup-done');

    await customer.locator('#topup-screen').waitFor({ state: 'visible', timeout: 10_000 });
    assert.equal(await customer.locator('#tu-head-1').innerText(), '充值成功 ¥200.00');
    assert.equal(await customer.locator('#tu-head-2').innerText(), 'Topped up ¥200.00');
    assert.equal(await customer.locator('#tu-balance-1').innerText(), '卡内余额 ¥5,200.00');
    assert.equal(await customer.locator('#tu-balance-1').getAttribute('lang'), 'zh-CN');
    assert.ok(!(await customer.locator('#prompt').isVisible()), 'the welcome prompt gives way to the new balance');
    const size = await customer
      .locator('#tu-balance-1')
      .evaluate(
        (el) =>
          (globalThis as unknown as { getComputedStyle(e: unknown): { fontSize: string } }).getComputedStyle(el)
            .fontSize,
      )
      .then(parseFloat);
    assert.ok(size >= 40, `the balance is large (${size}px)`);
    await screenshot(customer, 'customer-topup-balance');
    await assertAccessible(customer, 'customer-topup-balance', { aaa: true });
    await customer.locator('#tu-close').click();
    await customer.locator('#prompt').waitFor({ state: 'visible' });
  });

  it('a sync from the counter page; an offline top-up is refused with the reason and nothing is charged', async () => {
    const counterCtx = await pairedContext(browser!, f.url, f.token);
    contexts.push(counterCtx);
    const counter = await open(counterCtx, '/');
    await counter.locator('#topup-form').waitFor({ state: 'visible' });
    await counter.locator('#topup-sync').click();
    await counter.locator('#topup-msg[data-kind="ok"]').waitFor({ timeout: 20_000 });
    assert.match(await counter.locator('#topup-msg').innerText(), /synced\. New balance: ¥5,000\.00/);
    f.bank.setFaults({ down: true });
    await counter.locator('#topup-amount').fill('50');
    await counter.locator('input[name="topup-method"][value="account"]').check();
    await counter.locator('#topup-go').click();
    await counter.locator('#topup-msg[data-kind="error"]').waitFor({ timeout: 20_000 });
    assert.match(await counter.locator('#topup-msg').innerText(), /bank is not reachable.*nothing was charged/);
    await assertAccessible(counter, 'counter-topup-refused');
    f.bank.setFaults({ down: false });
  });
});
