import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { PinServiceView } from '../../host/card-services/pin-service-view.js';
import { DaemonFixture } from '../support/daemon-fixture.js';
import { requireSystem } from '../support/system.js';
import { CHROMIUM, assertAccessible, launchChromium, pairedContext, screenshot, watch } from './browser.js';
import { assertFitsScreen } from './pin-traffic.js';

/**
 * The PIN service's screens the simulated card does not easily reach (a terminal's own keypad, a
 * blocked or terminated card, the last try): each page is given the view as the daemon would send
 * it (GET /api/v1/pin-services/current, answered by the test), and must say what happened and what
 * to do, in both languages, axe-clean.
 */
describe('ui: PIN service outcomes on both pages, from given views (headless Chromium)', function () {
  this.timeout(120_000);
  let browser: Browser | undefined;
  let f: DaemonFixture;
  const contexts: BrowserContext[] = [];
  let problems: string[][] = [];
  let view: PinServiceView;

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
  afterEach(function () {
    if (this.currentTest?.state === 'passed') assert.deepEqual(problems.flat(), [], 'no CSP violation or script error');
    problems = [];
  });

  const base = (over: Partial<PinServiceView>): PinServiceView => ({
    serviceId: 'ps-test-' + Math.random().toString(36).slice(2),
    kind: 'change',
    activation: false,
    reader: 'fixture reader',
    state: 'entry',
    entryOnDevice: false,
    final: false,
    createdAt: Date.now(),
    updatedAt: Date.now(),
    ...over,
  });

  async function open(c: BrowserContext, path: string): Promise<Page> {
    const page = await c.newPage();
    problems.push((await watch(page)).problems);
    await page.route('**/api/v1/pin-services/current', (route) =>
      route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(view) }),
    );
    await page.goto(f.url + path);
    return page;
  }

  let counter: Page;
  let customer: Page;
  async function show(v: PinServiceView, name: string): Promise<void> {
    view = v;
    if (!counter) {
      const counterCtx = await pairedContext(browser!, f.url, f.token);
      const displayCtx = await browser!.newContext({ viewport: { width: 1280, height: 800 }, locale: 'zh-CN' });
      const res = await displayCtx.request.post(`${f.url}/api/v1/pair`, { data: { token: f.token, scope: 'display' } });
      assert.equal(res.status(), 200);
      contexts.push(counterCtx, displayCtx);
      counter = await open(counterCtx, '/');
      customer = await open(displayCtx, '/customer');
    } else {
      await counter.reload();
      await customer.reload();
    }
    await counter.locator(`#ps-state[data-state="${v.state}"]`).waitFor({ timeout: 10_000 });
    await customer.locator(`#ps-screen[data-state="${v.state}"]`).waitFor({ timeout: 10_000 });
    await screenshot(customer, `customer-psv-${name}`);
    await screenshot(counter, `counter-psv-${name}`);
    await assertAccessible(customer, `customer-psv-${name}`, { aaa: true });
    await assertFitsScreen(customer, `customer-psv-${name}`);
    await assertAccessible(counter, `counter-psv-${name}`);
  }

  const text = (p: Page, sel: string) => p.locator(sel).innerText();

  it("a terminal's own keypad: the display says to type there and shows no keypad; the counter says so too", async () => {
    await show(base({ state: 'entry', entryOnDevice: true, triesLeft: 3, deadline: Date.now() + 120_000 }), 'pad');
    assert.match(
      await text(customer, '#ps-primary'),
      /请在终端的密码键盘上输入\s+Please type on the terminal's keypad/,
    );
    assert.equal(await customer.locator('#keypad').isHidden(), true);
    assert.match(await text(counter, '#ps-state'), /Customer is entering the PIN on the terminal's keypad/);
  });

  it('the last PIN try, with no wrong PIN yet in this service: warned on both pages', async () => {
    await show(base({ state: 'entry', step: 'current', triesLeft: 1, deadline: Date.now() + 120_000 }), 'last-try');
    assert.match(await text(customer, '#ps-notice'), /只剩 1 次机会 — 再错密码将锁定\s+Only 1 try left/);
    assert.equal(await customer.locator('#ps-notice').getAttribute('data-level'), 'last');
    assert.match(await text(counter, '#ps-tries'), /1 try left \(PIN\) — one more wrong PIN blocks the card/);
  });

  for (const [code, display, counterTodo] of [
    ['CARD_PIN_BLOCKED', /卡片密码已锁定[\s\S]*PUK/, /Use "Unblock PIN"/],
    ['CARD_PUK_BLOCKED', /此卡已停用[\s\S]*card issuer for a new one/, /a new card from the card issuer/],
    ['CARD_REVOKED', /此卡已被发卡机构注销[\s\S]*contact your card issuer/, /contacts the card issuer/],
    ['SOMETHING_ELSE', /没有完成[\s\S]*Please ask the cashier/, /check the daemon log/],
  ] as const) {
    it(`failed ${code}: what happened and what to do on both pages`, async () => {
      await show(
        base({
          state: 'failed',
          final: true,
          cardLast4: 'ab12',
          error: { code, message: 'it failed', hint: 'check the daemon log', kind: 'refused' },
        }),
        `failed-${code}`,
      );
      assert.match(await text(customer, '#ps-say'), display);
      assert.match(await text(counter, '#ps-outcome'), counterTodo);
      assert.equal(await customer.locator('#ps-close').isVisible(), true, 'the holder can close it');
    });
  }

  it('timed out: the PIN was not changed, ask the cashier to start again', async () => {
    await show(base({ state: 'timed_out', final: true }), 'timed-out');
    assert.match(await text(customer, '#ps-say'), /等待超时，密码没有改变[\s\S]*ask the cashier to start again/);
    assert.match(await text(counter, '#ps-outcome'), /Timed out[\s\S]*Start again if the customer wishes/);
  });
});
