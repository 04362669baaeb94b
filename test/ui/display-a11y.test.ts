import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { SaleSnapshot } from '../../host/sale/sale-types.js';
import { DaemonFixture } from '../support/daemon-fixture.js';
import { requireSystem } from '../support/system.js';
import { CHROMIUM, assertAccessible, launchChromium, screenshot, watch } from './browser.js';

/**
 * The customer display's accessibility findings of issue 15 (docs/ui.md "Customer display"): a
 * finished sale leaves the screen after ui.displayClearS and is not read aloud to the next customer;
 * type sizes in rem so 200% zoom enlarges them (WCAG 1.4.4), with the amount, balance and tries left
 * at least 32 px at 800×480 and any width; a warning before a sale's PIN step times out (2.2.1); the
 * speech toggle in a browser without voices. Sales the test needs in a given state come as the
 * daemon's own `sale` events, served by the test on /api/v1/events.
 */
describe('ui: the customer display — clearing, sizes, zoom, time-out warning, speech (headless Chromium)', function () {
  this.timeout(120_000);
  let browser: Browser | undefined;
  let f: DaemonFixture;
  const contexts: BrowserContext[] = [];
  let problems: string[][] = [];

  before(async function () {
    requireSystem(this, existsSync(CHROMIUM) ? [] : ['chromium'], 'apt-get install chromium');
    browser = await launchChromium();
    f = await DaemonFixture.start({ config: { cardServices: { autoSyncAt: null } } });
  });
  after(async () => {
    for (const c of contexts.splice(0)) await c.close();
    await browser?.close();
    await f?.stop();
  });
  afterEach(async function () {
    for (const c of contexts.splice(0)) await c.close();
    if (this.currentTest?.state === 'passed') assert.deepEqual(problems.flat(), [], 'no CSP violation or script error');
    problems = [];
  });

  async function displayContext(o: { width: number; height: number; scale?: number }): Promise<BrowserContext> {
    const c = await browser!.newContext({
      viewport: { width: o.width, height: o.height },
      deviceScaleFactor: o.scale ?? 1,
      locale: 'zh-CN',
    });
    const res = await c.request.post(`${f.url}/api/v1/pair`, { data: { token: f.token, scope: 'display' } });
    assert.equal(res.status(), 200);
    contexts.push(c);
    return c;
  }

  const snapshot = (over: Partial<SaleSnapshot>): SaleSnapshot => {
    const now = Date.now();
    return {
      saleId: 'sale-test-1',
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
      ...over,
    };
  };

  /** The display, its event stream answered by the test with these sales (as the daemon sends them). */
  async function display(
    c: BrowserContext,
    sales: () => SaleSnapshot[],
    before?: (p: Page) => Promise<void>,
  ): Promise<Page> {
    const page = await c.newPage();
    problems.push((await watch(page)).problems);
    await page.route('**/api/v1/events', (route) =>
      route.fulfill({
        status: 200,
        contentType: 'text/event-stream',
        body:
          'retry: 1000\n\n' +
          sales()
            .map((s) => `event: sale\ndata: ${JSON.stringify(s)}\n\n`)
            .join(''),
      }),
    );
    if (before) await before(page);
    await page.goto(f.url + '/customer');
    await page.locator('#prompt').waitFor({ state: 'visible', timeout: 10_000 });
    return page;
  }

  /** The computed font size in device pixels (CSS px × device scale). */
  async function devicePx(page: Page, sel: string, scale = 1): Promise<number> {
    const css = await page
      .locator(sel)
      .first()
      .evaluate((el) => parseFloat((globalThis as unknown as GetStyle).getComputedStyle(el).fontSize));
    return css * scale;
  }

  it('800×480 and any width: the amount to pay, the tries left and the balance are at least 32 px', async () => {
    const pin = snapshot({ pinTriesLeft: 1 });
    const paid = snapshot({
      saleId: 'sale-test-2',
      state: 'done',
      deadline: null,
      pinTriesLeft: null,
      receipt: {
        saleId: 'sale-test-2',
        recordId: 'r',
        amount: 15_000,
        currency: 156,
        merchantId: 'M',
        terminalId: 'T',
        time: Math.floor(Date.now() / 1000),
        card: '••1a2b',
        counter: 1,
        balanceAfter: 485_000,
        pinVerified: true,
        online: true,
      },
    });
    const sizes: string[] = [];
    for (const [width, height] of [
      [800, 480],
      [360, 640],
      [1024, 600],
      [1920, 1080],
    ] as const) {
      let sales = [pin];
      const page = await display(await displayContext({ width, height }), () => sales);
      await page.locator('#display[data-state="pin"][data-keypad="on"]').waitFor({ timeout: 10_000 });
      // The last try: boxed and worded as a warning, not plain detail text.
      assert.equal(await page.locator('#detail').getAttribute('data-warn'), 'last');
      for (const sel of ['#detail-primary', '#detail-secondary']) {
        const px = await devicePx(page, sel);
        sizes.push(`${width}×${height} pin ${sel} ${px}`);
        assert.ok(px >= 32, `${sel} (to pay, tries left) at ${width}×${height}: ${px} px`);
      }
      if (width === 800) {
        const border = await page
          .locator('#detail')
          .evaluate((el) => (globalThis as unknown as GetStyle).getComputedStyle(el).borderTopStyle);
        assert.equal(border, 'double', 'the last-try warning is boxed');
        await screenshot(page, 'customer-800x480-last-try');
        await assertAccessible(page, 'customer-800x480-last-try', { aaa: true });
      }
      sales = [paid];
      await page.locator('#display[data-state="done"]').waitFor({ timeout: 10_000 });
      assert.match(await page.locator('#detail').innerText(), /余额 ¥4,850\.00/);
      for (const sel of ['#detail-primary', '#detail-secondary']) {
        const px = await devicePx(page, sel);
        sizes.push(`${width}×${height} paid ${sel} ${px}`);
        assert.ok(px >= 32, `${sel} (balance) at ${width}×${height}: ${px} px`);
      }
      if (width === 800) await screenshot(page, 'customer-800x480-paid');
      await page.close();
    }
    console.log('      sizes: ' + sizes.join('; '));
  });

  it('200% zoom (half the CSS viewport at twice the pixel density) enlarges the text at least 1.5×', async () => {
    const ratios: string[] = [];
    const sizes: Record<string, number[]> = {};
    for (const [w, h, scale] of [
      [1280, 800, 1],
      [640, 400, 2],
    ] as const) {
      const page = await display(await displayContext({ width: w, height: h, scale }), () => [
        snapshot({ state: 'waiting_card', pinTriesLeft: null }),
      ]);
      await page.locator('#display[data-state="waiting_card"]').waitFor({ timeout: 10_000 });
      for (const sel of ['#primary', '#secondary', '#detail-primary', '#speech']) {
        (sizes[sel] ??= []).push(await devicePx(page, sel, scale));
      }
      if (scale === 2) await screenshot(page, 'customer-zoom-200');
      await page.close();
    }
    for (const [sel, [at100, at200]] of Object.entries(sizes)) {
      const r = at200! / at100!;
      ratios.push(`${sel} ${at100}→${at200} px (×${r.toFixed(2)})`);
      assert.ok(r >= 1.5, `${sel} grows with zoom: ${at100} → ${at200} device px`);
    }
    console.log('      zoom: ' + ratios.join('; '));
  });

  it('a warning about 20 s before the sale’s PIN step times out, in both languages (WCAG 2.2.1)', async () => {
    const page = await display(
      await displayContext({ width: 1280, height: 800 }),
      () => [snapshot({})],
      (p) => p.clock.install(),
    );
    await page.locator('#display[data-state="pin"]').waitFor({ timeout: 10_000 });
    assert.equal(await page.locator('#sale-time').isHidden(), true, 'no warning while there is time');
    await page.clock.fastForward(105_000); // 120 s for the PIN: about 15 s left on the display's clock
    await page.locator('#sale-time').waitFor({ state: 'visible', timeout: 5_000 });
    assert.match(
      await page.locator('#sale-time').innerText(),
      /时间快到了：还剩 1\d 秒\s+Time is nearly up: 1\d s left/,
    );
    assert.match((await page.locator('#sale-time-say').textContent()) ?? '', /请在 20 秒内输完密码/);
    await screenshot(page, 'customer-sale-time-warning');
    await assertAccessible(page, 'customer-sale-time-warning', { aaa: true });
  });

  it('a finished sale leaves the display after ui.displayClearS (20 s), and its balance is not said again', async () => {
    const c = await displayContext({ width: 1280, height: 800 });
    const page = await c.newPage();
    problems.push((await watch(page)).problems);
    await page.clock.install();
    await page.addInitScript(() => {
      // A voice that records what it would say.
      const g = globalThis as unknown as SpeechStub;
      g.__spoken = [];
      g.speechSynthesis.getVoices = () => [{ name: 'test voice', lang: 'zh-CN' }];
      g.speechSynthesis.speak = (u) => void g.__spoken.push(u.text);
      g.speechSynthesis.cancel = () => void g.__spoken.push('<cancel>');
    });
    await page.goto(f.url + '/customer');
    await page.locator('#prompt').waitFor({ state: 'visible', timeout: 10_000 });
    await page.locator('#speech').click();
    assert.equal(await page.locator('#speech').getAttribute('aria-pressed'), 'true');
    const spoken = () => page.evaluate(() => (globalThis as unknown as SpeechStub).__spoken);

    f.reader.insert(f.applet);
    f.daemon.engine.start({ amount: 1250, currency: 156 });
    await page.locator('#display[data-state="done"]').waitFor({ timeout: 15_000 });
    const paidSaid = await spoken();
    assert.ok(
      paidSaid.some((t) => /已付款 ¥12\.50.*余额/.test(t)),
      `the paid prompt is said: ${paidSaid.join(' | ')}`,
    );
    await page.clock.fastForward(18_000);
    assert.equal(await page.locator('#display').getAttribute('data-state'), 'done', 'still there before the time');
    await page.clock.fastForward(3_000);
    await page.locator('#display[data-state="idle"]').waitFor({ timeout: 5_000 });
    assert.equal(await page.locator('#primary').innerText(), '欢迎光临');
    assert.equal(await page.locator('#detail').isHidden(), true, 'no balance left on the screen');
    const after = (await spoken()).slice(paidSaid.length);
    assert.ok(!after.some((t) => /余额|balance/i.test(t)), `nothing of the last sale said again: ${after.join(' | ')}`);
    assert.ok(after.includes('<cancel>'), 'anything still being said is stopped');
    await screenshot(page, 'customer-cleared');

    // A cancelled sale leaves too (the next customer is not greeted with "cancelled").
    f.reader.remove();
    const s = f.daemon.engine.start({ amount: 700, currency: 156 });
    await page.locator('#display[data-state="waiting_card"]').waitFor({ timeout: 10_000 });
    f.daemon.engine.cancel(s.saleId);
    await page.locator('#display[data-state="cancelled"]').waitFor({ timeout: 10_000 });
    await page.clock.fastForward(21_000);
    await page.locator('#display[data-state="idle"]').waitFor({ timeout: 5_000 });
  });

  it('a browser without voices: the speech toggle stays off, disabled, and says there are no voices', async () => {
    const page = await display(await displayContext({ width: 1280, height: 800 }), () => []);
    const speech = page.locator('#speech');
    assert.equal(
      await page.evaluate(
        () =>
          (globalThis as unknown as { speechSynthesis: { getVoices(): unknown[] } }).speechSynthesis.getVoices().length,
      ),
      0,
      'headless Chromium has no voices',
    );
    assert.equal(await speech.getAttribute('aria-pressed'), 'false');
    assert.equal(await speech.isDisabled(), true);
    assert.match(await speech.innerText(), /语音提示不可用：本机没有语音 \/ Spoken prompts not available: no voices/);
    assert.equal(await speech.getAttribute('lang'), 'zh-CN');
    assert.equal(await speech.locator('span[lang="en"]').count(), 1, 'the English part is marked as English');
    await assertAccessible(page, 'customer-speech-no-voices', { aaa: true });
  });
});

interface SpeechStub {
  __spoken: string[];
  speechSynthesis: {
    getVoices(): unknown[];
    speak(u: { text: string }): void;
    cancel(): void;
  };
}

/** getComputedStyle, reached without the DOM lib (the project is a Node project). */
interface GetStyle {
  getComputedStyle(el: unknown): { fontSize: string; borderTopStyle: string };
}
