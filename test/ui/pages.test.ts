import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import type { APIResponse, Browser, BrowserContext, Page } from 'playwright-core';
import { DaemonFixture, FIXTURE_PIN } from '../support/daemon-fixture.js';
import { requireSystem } from '../support/system.js';
import {
  CHROMIUM,
  assertAccessible,
  launchChromium,
  pairedContext,
  screenshot,
  watch,
  type PageGlobals,
} from './browser.js';

/**
 * The counter page and the customer display in a real headless Chromium against a whole counter
 * in this process (real daemon, SQLite, HTTP; simulated card and bank). Everything the merchant
 * does here is done with the keyboard only.
 */
describe('ui: counter page and customer display (headless Chromium)', function () {
  this.timeout(90_000); // axe checks and full-page screenshots in headless Chromium, on a loaded 2-core machine
  let browser: Browser | undefined;
  let f: DaemonFixture;
  let ctx: BrowserContext | undefined;
  let watched: { problems: string[]; console: string[] }[] = [];

  before(async function () {
    requireSystem(this, existsSync(CHROMIUM) ? [] : ['chromium'], 'apt-get install chromium');
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
  });
  beforeEach(async () => {
    f = await DaemonFixture.start();
    watched = [];
  });
  afterEach(async function () {
    await ctx?.close();
    ctx = undefined;
    await f.stop();
    if (this.currentTest?.state === 'passed') {
      const problems = watched.flatMap((w) => w.problems);
      assert.deepEqual(problems, [], 'no CSP violation and no script error in any page');
    }
  });

  async function open(path: string, c: BrowserContext): Promise<Page> {
    const page = await c.newPage();
    watched.push(await watch(page));
    await page.goto(f.url + path);
    return page;
  }

  const text = (page: Page, sel: string) => page.locator(sel).innerText();
  const until = (page: Page, sel: string, timeout = 10_000) =>
    page.locator(sel).first().waitFor({ state: 'visible', timeout });

  it('pairing: without the cookie both pages ask for the token; a wrong token is refused, the right one pairs', async () => {
    ctx = await browser!.newContext({ viewport: { width: 1280, height: 800 } });
    const counter = await open('/', ctx);
    await until(counter, '#pair');
    assert.equal(await counter.locator('#app').isHidden(), true, 'the counter is hidden until paired');
    assert.match(await text(counter, '#pair-where'), /api-token$/, 'the form says where the token file is');
    await screenshot(counter, 'counter-01-pairing');
    await assertAccessible(counter, 'counter-pairing');

    // Keyboard only: focus is in the token field.
    await counter.keyboard.type('not-the-token');
    await counter.keyboard.press('Enter');
    await until(counter, '#pair-error');
    // Not paired, the page cannot know the counter's configured language: zh-CN, the product's default.
    assert.match(await text(counter, '#pair-error'), /这不是本收银服务的密钥/, 'a wrong token is refused in words');
    assert.equal(await counter.locator('#app').isHidden(), true, 'still not paired');
    await screenshot(counter, 'counter-02-pairing-refused');

    const customer = await open('/customer', ctx);
    await until(customer, '#pair');
    await screenshot(customer, 'customer-01-pairing');
    await assertAccessible(customer, 'customer-pairing');

    await counter.keyboard.type(f.token);
    await counter.keyboard.press('Enter');
    await until(counter, '#app');
    await until(counter, '#net.net-online');
    assert.equal(
      await counter.evaluate(() => (globalThis as unknown as PageGlobals).document.cookie.includes('cardpost_')),
      false,
      'the session cookie is HttpOnly',
    );
    assert.equal(
      await counter
        .evaluate(() => JSON.stringify((globalThis as unknown as PageGlobals).localStorage))
        .then((s) => s.includes(f.token)),
      false,
      'the token is not kept by the page',
    );

    // The customer display in the same browser is paired too (same cookie) once reloaded.
    await customer.reload();
    await until(customer, '#prompt');
    assert.equal(await text(customer, '#primary'), '欢迎光临');
  });

  it("pages are served as files with their content types, CSP default-src 'self' and no-store HTML", async () => {
    ctx = await browser!.newContext();
    for (const [path, type] of [
      ['/', 'text/html'],
      ['/customer', 'text/html'],
      ['/ui/counter.js', 'text/javascript'],
      ['/ui/customer.css', 'text/css'],
      ['/ui/favicon.svg', 'image/svg+xml'],
    ] as const) {
      const res: APIResponse = await ctx.request.get(f.url + path);
      assert.equal(res.status(), 200, `${path} is served`);
      const h = res.headers();
      assert.ok(h['content-type']?.startsWith(type), `${path} is ${type} (got ${h['content-type']})`);
      assert.ok(
        h['content-security-policy']?.startsWith("default-src 'self'"),
        `${path} has the CSP (got ${h['content-security-policy']})`,
      );
      if (type === 'text/html') assert.equal(h['cache-control'], 'no-store', `${path} is not cached`);
    }
    assert.equal(
      (await ctx.request.get(f.url + '/ui/../api/v1/status')).status(),
      401,
      'no way past the API token through the asset route',
    );
    assert.equal((await ctx.request.get(f.url + '/ui/nothing.js')).status(), 404, 'unknown asset');
  });

  it('a sale from the keyboard alone: amount, Enter, card, done, receipt with the record id', async () => {
    ctx = await pairedContext(browser!, f.url, f.token);
    const counter = await open('/', ctx);
    await until(counter, '#net.net-online');
    await screenshot(counter, 'counter-03-idle');
    await assertAccessible(counter, 'counter-idle');

    await counter.keyboard.type('12.50');
    await counter.keyboard.press('Enter');
    await until(counter, '#sale-state[data-state="done"]');
    assert.equal(await text(counter, '#receipt-record'), `${f.cardId}:1`, 'the receipt shows the record id');
    assert.equal(await text(counter, '#receipt-amount'), '¥12.50');
    assert.match(await text(counter, '#receipt-settlement'), /online/);
    assert.equal(
      await text(counter, '#steps [data-step="pin"]'),
      'No PIN',
      'a sale under the no-PIN limit shows the PIN step skipped',
    );
    await screenshot(counter, 'counter-04-done');
    await assertAccessible(counter, 'counter-done');

    // The next amount typed replaces the last one; Esc with no sale clears it.
    await counter.keyboard.type('3');
    assert.equal(await counter.inputValue('#amount'), '3', 'typing after a sale starts a fresh amount');
    await counter.keyboard.press('Escape');
    assert.equal(await counter.inputValue('#amount'), '', 'Esc clears the amount');

    // A sale cancelled with Esc while it waits for the card.
    f.reader.remove();
    await counter.keyboard.type('7');
    await counter.keyboard.press('Enter');
    await until(counter, '#sale-state[data-state="waiting_card"]');
    await screenshot(counter, 'counter-05-waiting-card');
    await counter.keyboard.press('Escape');
    await until(counter, '#sale-state[data-state="cancelled"]');
  });

  it('a PIN sale: the PIN typed on the counter page, one wrong try shown on the customer display, then paid', async () => {
    ctx = await pairedContext(browser!, f.url, f.token);
    const counter = await open('/', ctx);
    const customer = await open('/customer', ctx);
    await until(counter, '#net.net-online');
    await until(customer, '#prompt');
    await screenshot(customer, 'customer-02-welcome');

    await counter.bringToFront();
    await counter.keyboard.type('150.00');
    await counter.keyboard.press('Enter');
    await until(counter, '#pin-form');
    await until(customer, '#display[data-state="pin"]');
    assert.equal(await text(customer, '#primary'), '请输入密码');
    assert.equal(await text(customer, '#secondary'), 'Please enter your PIN');
    assert.match(await text(customer, '#detail'), /剩余 3 次/);
    await screenshot(customer, 'customer-03-pin');
    await assertAccessible(customer, 'customer-pin', { aaa: true });
    await screenshot(counter, 'counter-06-pin');
    await assertAccessible(counter, 'counter-pin');

    // Focus went to the PIN field by itself: type a wrong PIN, Enter.
    await counter.keyboard.type('9999');
    await counter.keyboard.press('Enter');
    await customer.locator('#detail', { hasText: '剩余 2 次' }).waitFor({ timeout: 10_000 });
    assert.equal(await text(customer, '#primary'), '密码错误，请重新输入');
    assert.match(await text(customer, '#detail'), /2 tries left/);
    // The counter page has its own event stream: wait for it too, not only for the customer display.
    await counter.locator('#sale-notice', { hasText: /wrong PIN, 2 tries left/ }).waitFor({ timeout: 10_000 });
    assert.equal(await counter.inputValue('#pin'), '', 'the PIN field is emptied after each try');
    await screenshot(customer, 'customer-04-pin-wrong');
    await screenshot(counter, 'counter-07-pin-wrong');
    await assertAccessible(customer, 'customer-pin-wrong', { aaa: true });

    await counter.keyboard.type(FIXTURE_PIN);
    await counter.keyboard.press('Enter');
    await until(counter, '#sale-state[data-state="done"]');
    await until(customer, '#display[data-state="done"]');
    assert.equal(await text(customer, '#primary'), '已付款 ¥150.00');
    assert.equal(await text(counter, '#receipt-pin'), 'verified by the card');
    await screenshot(customer, 'customer-05-paid');
    await assertAccessible(customer, 'customer-paid', { aaa: true });

    // The PIN went nowhere but the API: not in storage, not in the console.
    for (const page of [counter, customer]) {
      const stored = await page.evaluate(() => {
        const g = globalThis as unknown as PageGlobals;
        return JSON.stringify(g.localStorage) + JSON.stringify(g.sessionStorage);
      });
      assert.ok(!stored.includes(FIXTURE_PIN) && !stored.includes('9999'), 'no PIN in web storage');
    }
    const logged = watched.flatMap((w) => w.console).join('\n');
    assert.ok(!logged.includes(FIXTURE_PIN) && !logged.includes('9999'), `no PIN in the console: ${logged}`);
  });

  it('the card pulled while it signs: both pages say it may have paid and ask for the same card; Esc ends it unconfirmed; the card back makes it paid', async () => {
    await f.stop();
    f = await DaemonFixture.start({ readerLatencyMs: 20 });
    const fx = f;
    const transmit = fx.applet.transmit.bind(fx.applet);
    let pulled = false;
    fx.applet.transmit = (apdu: Uint8Array) => {
      const out = transmit(apdu);
      if (!pulled && apdu[1] === 0x10 && (apdu[4] === 0 ? apdu[7] : apdu[5]) === 0x03) {
        pulled = true;
        setImmediate(() => fx.reader.remove());
      } // SIGN_TXN
      return out;
    };
    ctx = await pairedContext(browser!, f.url, f.token);
    const counter = await open('/', ctx);
    const customer = await open('/customer', ctx);
    await until(counter, '#net.net-online');
    await counter.bringToFront();
    await counter.keyboard.type('8.00');
    await counter.keyboard.press('Enter');
    await customer.locator('#primary', { hasText: '请重新插入刚才付款的卡片' }).waitFor({ timeout: 10_000 });
    assert.ok(pulled, 'the card left during SIGN_TXN');
    assert.equal(await text(customer, '#secondary'), 'Please insert the card you were paying with again');
    await counter.locator('#sale-notice', { hasText: /may already have paid/ }).waitFor({ timeout: 10_000 });
    await screenshot(customer, 'customer-09-insert-same-card');
    await assertAccessible(customer, 'customer-insert-same-card', { aaa: true });

    await counter.keyboard.press('Escape');
    await until(counter, '#sale-state[data-state="unconfirmed"]');
    assert.match(await text(counter, '#sale-state'), /NOT CONFIRMED/);
    assert.match(
      await text(counter, '#sale-error-hint'),
      /same card/,
      'the merchant is told not to charge again and what to do',
    );
    await until(customer, '#display[data-state="unconfirmed"]');
    assert.equal(await text(customer, '#primary'), '付款未确认，请重新插入同一张卡片');
    await screenshot(counter, 'counter-11-unconfirmed');
    await screenshot(customer, 'customer-10-unconfirmed');
    await assertAccessible(counter, 'counter-unconfirmed');
    await assertAccessible(customer, 'customer-unconfirmed', { aaa: true });

    fx.reader.insert(fx.applet); // the customer comes back: the journal gives the record, the sale is paid
    await until(counter, '#sale-state[data-state="done"]');
    assert.equal(await text(counter, '#receipt-record'), `${fx.cardId}:1`);
    await until(customer, '#display[data-state="done"]');
    assert.equal(await text(customer, '#primary'), '已付款 ¥8.00');
  });

  it('offline: banner and pending count while the bank is down, "paid — will settle" on the customer display, cleared after settling', async () => {
    ctx = await pairedContext(browser!, f.url, f.token);
    const counter = await open('/', ctx);
    const customer = await open('/customer', ctx);
    await until(counter, '#net.net-online');

    f.bank.setFaults({ down: true });
    await until(counter, '#net.net-offline');
    assert.match(await text(counter, '#net'), /OFFLINE/);
    await until(counter, '#offline-band');

    await counter.bringToFront();
    await counter.keyboard.type('12.50');
    await counter.keyboard.press('Enter');
    await until(counter, '#sale-state[data-state="done"]');
    await until(counter, '#pending-count[data-count="1"]');
    assert.equal(await text(counter, '#pending-amount'), '¥12.50');
    assert.match(await text(counter, '#pending-age'), /\d+ s/);
    assert.match(await text(counter, '#receipt-settlement'), /offline/);
    await until(customer, '#display[data-state="done"]');
    assert.equal(await text(customer, '#primary'), '已付款 ¥12.50 — 网络恢复后自动结算');
    assert.equal(await text(customer, '#secondary'), 'Paid ¥12.50 — will settle when back online');
    await screenshot(counter, 'counter-08-offline');
    await assertAccessible(counter, 'counter-offline');
    await screenshot(customer, 'customer-06-paid-offline');
    await assertAccessible(customer, 'customer-paid-offline', { aaa: true });

    // The customer display in English (switched from the page itself, keyboard only).
    await customer.bringToFront();
    await customer.keyboard.press('Tab');
    await customer.keyboard.press('Enter');
    await customer
      .locator('#primary', { hasText: 'Paid ¥12.50 — will settle when back online' })
      .waitFor({ timeout: 5000 });
    assert.equal(await text(customer, '#secondary'), '已付款 ¥12.50 — 网络恢复后自动结算');
    assert.equal(
      await customer.evaluate(() => (globalThis as unknown as PageGlobals).document.documentElement.lang),
      'en',
    );
    await screenshot(customer, 'customer-07-paid-offline-en');
    await assertAccessible(customer, 'customer-paid-offline-en', { aaa: true });

    // The merchant presses F8 (settle now) while the bank is still down: the page says the sale settles when it
    // is back. (Pressed before the bank returns, so the worker's own retry cannot have settled it first.)
    await counter.bringToFront();
    await counter.keyboard.press('F8');
    await counter
      .locator('#settle-msg', { hasText: 'Sent 0 of 1. The bank is offline: the rest settles when it is back.' })
      .waitFor({ timeout: 10_000 });
    assert.equal(await counter.locator('#pending-count').getAttribute('data-count'), '1', 'still waiting');
    // Bank back: the banner and the count clear, and the run the merchant started says it finished.
    f.bank.setFaults({ down: false });
    await until(counter, '#net.net-online');
    await until(counter, '#pending-count[data-count="0"]');
    await counter.locator('#settle-msg', { hasText: 'Settlement finished' }).waitFor({ timeout: 10_000 });
    assert.equal(await text(counter, '#pending-age'), 'nothing waiting');
    assert.equal(await counter.locator('#offline-band').isHidden(), true, 'the offline band is gone');
    await screenshot(counter, 'counter-09-settled');
  });

  it('records the bank rejects are listed with their reason and what to do', async () => {
    ctx = await pairedContext(browser!, f.url, f.token);
    const counter = await open('/', ctx);
    await until(counter, '#net.net-online');
    f.bank.setFaults({ down: true });
    await until(counter, '#net.net-offline');
    await counter.keyboard.type('8.80');
    await counter.keyboard.press('Enter');
    await until(counter, '#sale-state[data-state="done"]');
    f.bank.revokeCard(f.cardId);
    f.bank.setFaults({ down: false });
    await counter.keyboard.press('F8');
    await until(counter, '#rejected tbody tr');
    const row = await text(counter, '#rejected tbody tr');
    assert.match(row, new RegExp(`${f.cardId}:1`), 'the rejected record id');
    assert.match(row, /REVOKED/, 'the reason');
    assert.match(row, /Refuse the card at the counter/, 'the advice');
    assert.equal(await text(counter, '#rejected-count'), '(1)');
    await screenshot(counter, 'counter-10-rejected');
    await assertAccessible(counter, 'counter-rejected');
  });

  it('the customer display: English by query, spoken prompts off by default and switchable', async () => {
    ctx = await pairedContext(browser!, f.url, f.token);
    const customer = await ctx.newPage();
    watched.push(await watch(customer));
    // Headless Chromium has no voices: give it one (a browser without any is test/ui/display-a11y.test.ts).
    await customer.addInitScript(() => {
      const s = (globalThis as unknown as { speechSynthesis: { getVoices(): unknown[] } }).speechSynthesis;
      s.getVoices = () => [{ name: 'test voice', lang: 'zh-CN' }];
    });
    await customer.goto(f.url + '/customer?lang=en');
    await until(customer, '#prompt');
    assert.equal(await text(customer, '#primary'), 'Welcome');
    assert.equal(await text(customer, '#secondary'), '欢迎光临');
    const speech = customer.locator('#speech');
    assert.equal(await speech.getAttribute('aria-pressed'), 'false', 'speech is off by default');
    await speech.focus();
    await customer.keyboard.press('Enter');
    assert.equal(await speech.getAttribute('aria-pressed'), 'true', 'speech switched on');
    assert.match(await speech.innerText(), /Spoken prompts: on/);
    // Each language marked as such, after every redraw (not only the first).
    assert.equal(await speech.getAttribute('lang'), 'en');
    assert.equal(await speech.locator('span[lang="zh-CN"]').textContent(), ' / 语音提示：开');
    await screenshot(customer, 'customer-08-welcome-en');
    await assertAccessible(customer, 'customer-welcome-en', { aaa: true });
  });
});
