import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { SaleSnapshot } from '../../host/sale/sale-types.js';
import { DaemonFixture } from '../support/daemon-fixture.js';
import { requireSystem } from '../support/system.js';
import { CHROMIUM, assertAccessible, launchChromium, screenshot, watch } from './browser.js';

/**
 * The counter page in zh-CN (the configured default) and English from one catalogue (docs/ui.md
 * "Languages"), switchable and remembered; plain words for refusals and time-outs; the warning before
 * a sale's PIN step times out; and the top bar at 200% zoom (WCAG 2.4.11) and at 320 px (1.4.10).
 */
describe('ui: the counter page in zh-CN and English; zoom and reflow (headless Chromium)', function () {
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
    if (this.currentTest?.state === 'passed') assert.deepEqual(problems.flat(), [], 'no CSP violation or script error');
    problems = [];
  });

  async function counter(
    o: { width?: number; height?: number; scale?: number; config?: object } = {},
    before?: (p: Page) => Promise<void>,
  ): Promise<Page> {
    f = await DaemonFixture.start({ config: { ui: { language: 'zh-CN' }, ...o.config } });
    const c = await browser!.newContext({
      viewport: { width: o.width ?? 1280, height: o.height ?? 800 },
      deviceScaleFactor: o.scale ?? 1,
      locale: 'en-GB', // the browser's own language does not decide: the counter's configuration does
    });
    contexts.push(c);
    const res = await c.request.post(`${f.url}/api/v1/pair`, { data: { token: f.token } });
    assert.equal(res.status(), 200);
    const page = await c.newPage();
    problems.push((await watch(page)).problems);
    if (before) await before(page);
    await page.goto(f.url + '/');
    await page.locator('#app').waitFor({ state: 'visible', timeout: 10_000 });
    return page;
  }
  const text = (p: Page, sel: string) => p.locator(sel).innerText();

  it('zh-CN by configuration: every visible word Chinese, axe-clean idle and paid, screenshots; English by the switch, remembered', async () => {
    const page = await counter();
    await page.locator('#net.net-online').waitFor({ timeout: 10_000 });
    assert.equal(await page.evaluate(() => (globalThis as unknown as Doc).document.documentElement.lang), 'zh-CN');
    assert.equal(await text(page, 'h1'), 'cardpost 收银台');
    assert.equal(await text(page, '#net-state'), '在线');
    assert.equal(await text(page, '#sale-state'), '可以收款');
    assert.equal(await text(page, '#lang'), 'English');
    assert.equal(await page.locator('#lang').getAttribute('lang'), 'en');
    assert.ok(
      await page.evaluate(() =>
        (globalThis as unknown as Doc).document.fonts.check('16px "WenQuanYi Micro Hei"', '收银台'),
      ),
      'a CJK font draws the Chinese (not boxes)',
    );
    // No English word a shopkeeper would not know is left on the page.
    const body = await text(page, 'body');
    for (const word of ['daemon', 'API token', 'Record id', 'Signing', 'Ready for a sale', 'Settle now'])
      assert.ok(!body.includes(word), `"${word}" is not on the zh-CN page`);
    await screenshot(page, 'counter-zh-idle');
    await assertAccessible(page, 'counter-zh-idle');

    await page.keyboard.type('12.50');
    await page.keyboard.press('Enter');
    await page.locator('#sale-state[data-state="done"]').waitFor({ timeout: 15_000 });
    assert.equal(await text(page, '#sale-state'), '已付款 — ¥12.50');
    assert.match(await text(page, '#receipt'), /交易编号[\s\S]*付款后余额[\s\S]*卡片已核对密码|交易编号[\s\S]*不需要/);
    assert.match(await text(page, '#steps'), /插卡[\s\S]*卡片确认[\s\S]*已保存[\s\S]*完成/);
    await screenshot(page, 'counter-zh-paid');
    await assertAccessible(page, 'counter-zh-paid');

    await page.locator('#lang').click();
    assert.equal(await text(page, '#sale-state'), 'Paid — ¥12.50');
    assert.equal(await text(page, 'h1'), 'cardpost counter');
    assert.equal(await page.evaluate(() => (globalThis as unknown as Doc).document.documentElement.lang), 'en');
    assert.match(await text(page, '#receipt'), /Payment number/);
    assert.equal(await text(page, '#lang'), '中文');
    await screenshot(page, 'counter-en-paid');
    await assertAccessible(page, 'counter-en-paid');
    await page.reload();
    await page.locator('#net.net-online').waitFor({ timeout: 10_000 });
    assert.equal(
      await text(page, '#sale-state'),
      'Ready for a sale',
      'the choice outlives a reload (config says zh-CN)',
    );
    await page.locator('#lang').click();
    assert.equal(await text(page, '#sale-state'), '可以收款');
  });

  it("a card refusal reads in plain words (kind and what to do), never the card's protocol words", async () => {
    const page = await counter();
    await page.locator('#net.net-online').waitFor({ timeout: 10_000 });
    await page.keyboard.type('2500'); // over the fixture card's 2,000.00 per payment
    await page.keyboard.press('Enter');
    await page.locator('#sale-state[data-state="failed"]').waitFor({ timeout: 15_000 });
    const box = await text(page, '#sale-error');
    assert.match(box, /超出卡片每笔付款的限额[\s\S]*请收较小的金额/);
    assert.doesNotMatch(box, /SIGN_TXN|card answered|OVER_TRANSACTION_LIMIT/);
    await assertAccessible(page, 'counter-zh-refused');
    await page.locator('#lang').click();
    assert.match(await text(page, '#sale-error'), /over the card's limit for one payment[\s\S]*Take a smaller amount/);
  });

  it("the warning before a sale's PIN step times out, then the time-out with its reason", async () => {
    const now = Date.now();
    const pin: SaleSnapshot = {
      saleId: 'sale-test-pin',
      requestKey: null,
      amount: 15_000,
      currency: 156,
      reader: 'fixture reader',
      state: 'pin',
      pinTriesLeft: 3,
      pinOnDevice: false,
      deadline: now + 120_000,
      notice: null,
      receipt: null,
      error: null,
      createdAt: now,
      updatedAt: now,
    };
    let sales = [pin];
    const page = await counter({}, async (p) => {
      await p.clock.install();
      // The daemon's `sale` events, as it sends them (the real wait for a PIN is 120 s).
      await p.route('**/api/v1/events', (route) =>
        route.fulfill({
          status: 200,
          contentType: 'text/event-stream',
          body: 'retry: 500\n\n' + sales.map((s) => `event: sale\ndata: ${JSON.stringify(s)}\n\n`).join(''),
        }),
      );
    });
    await page.locator('#sale-state[data-state="pin"]').waitFor({ timeout: 10_000 });
    assert.equal(await page.locator('#sale-time').isHidden(), true, 'no warning while there is time');
    await page.clock.fastForward(105_000);
    await page.locator('#sale-time').waitFor({ state: 'visible', timeout: 5_000 });
    assert.match(await text(page, '#sale-time'), /时间快到了：还剩 1\d 秒/);
    assert.match((await page.locator('#sale-time-say').textContent()) ?? '', /20 秒内输完密码/);
    await screenshot(page, 'counter-zh-pin-warning');
    await assertAccessible(page, 'counter-zh-pin-warning');

    sales = [pin, { ...pin, state: 'timed_out', deadline: null, pinTriesLeft: null, updatedAt: now + 120_000 }];
    await page.locator('#sale-state[data-state="timed_out"]').waitFor({ timeout: 10_000 });
    assert.match(await text(page, '#sale-error'), /顾客没有在规定时间内输完密码，没有扣款。[\s\S]*请重新开始收款/);
    assert.equal(await page.locator('#sale-time').isHidden(), true);
  });

  it('200% zoom while offline: the top bar scrolls with the page and never covers the focused field (WCAG 2.4.11)', async () => {
    // 1280×800 at 200%: a 640×400 CSS viewport drawn at twice the pixel density.
    const page = await counter({ width: 640, height: 400, scale: 2 });
    await page.locator('#net.net-online').waitFor({ timeout: 10_000 });
    f!.bank.setFaults({ down: true });
    await page.locator('#offline-band').waitFor({ state: 'visible', timeout: 10_000 });
    const sizes = await page.evaluate(() => {
      const d = (globalThis as unknown as Doc).document;
      const g = globalThis as unknown as Style;
      return ['#amount', '#net-state', '.offline-band'].map((s) =>
        parseFloat(g.getComputedStyle(d.querySelector(s)).fontSize),
      );
    });
    assert.ok(
      sizes.every((px) => px >= 16),
      `text keeps its CSS size, so it doubles on screen: ${sizes.join(', ')}`,
    );
    for (const field of ['#amount', '#topup-amount']) {
      await page.locator(field).focus();
      const overlap = await page.evaluate((sel) => {
        const d = (globalThis as unknown as Doc).document;
        const el = d.querySelector(sel);
        el.scrollIntoView({ block: 'start' }); // the worst case: the field at the top of the window
        const a = el.getBoundingClientRect();
        const b = d.querySelector('.topbar').getBoundingClientRect();
        const pos = (globalThis as unknown as Style).getComputedStyle(d.querySelector('.topbar')).position;
        return { pos, overlap: Math.max(0, Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top)) };
      }, field);
      assert.equal(overlap.overlap, 0, `${field} is not covered by the bar (${overlap.pos})`);
    }
    await screenshot(page, 'counter-zoom-200-offline');
    await assertAccessible(page, 'counter-zoom-200-offline');
  });

  it('320 px wide: no horizontal scrolling, and the top bar takes at most a quarter of the screen (WCAG 1.4.10)', async () => {
    const page = await counter({ width: 320, height: 568 });
    await page.locator('#net.net-online').waitFor({ timeout: 10_000 });
    const m = await page.evaluate(() => {
      const d = (globalThis as unknown as Doc).document;
      return {
        scrollWidth: d.documentElement.scrollWidth,
        bar: d.querySelector('.topbar').getBoundingClientRect().height,
      };
    });
    console.log(`      320×568: page ${m.scrollWidth} px wide, bar ${m.bar} px high`);
    await screenshot(page, 'counter-320');
    assert.ok(m.scrollWidth <= 320, `no horizontal scroll: ${m.scrollWidth} px`);
    assert.ok(m.bar <= 568 / 4, `the bar is ${m.bar} px of 568`);
    await assertAccessible(page, 'counter-320');
  });
});

/** The few DOM calls the tests make, without the DOM lib (the project is a Node project). */
interface Box {
  top: number;
  bottom: number;
  height: number;
}
interface El {
  getBoundingClientRect(): Box;
  scrollIntoView(o: object): void;
}
interface Doc {
  document: {
    documentElement: { lang: string; scrollWidth: number };
    fonts: { check(font: string, text: string): boolean };
    querySelector(sel: string): El;
  };
}
interface Style {
  getComputedStyle(el: El): { fontSize: string; position: string };
}
