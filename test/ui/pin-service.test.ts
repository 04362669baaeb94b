import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { InProcessReader } from '../../device-sim/reader/in-process-reader.js';
import { CardClient } from '../../protocol/commands/index.js';
import { DaemonFixture } from '../support/daemon-fixture.js';
import { newIssuedCard } from '../support/new-card.js';
import { ascii } from '../support/issuer.js';
import { requireSystem } from '../support/system.js';
import { CHROMIUM, assertAccessible, launchChromium, pairedContext, screenshot, watch } from './browser.js';
import { Traffic, assertFitsScreen, assertNoSecrets, clickDigits } from './pin-traffic.js';

const TRANSPORT_PIN = '0000';
const PUK = '24681357';

/** A card fresh from the issuer: personalised with the transport PIN, not yet activated. */
const newCard = (f: DaemonFixture) => newIssuedCard(f.issuer.dir, TRANSPORT_PIN, PUK);

/**
 * The PIN service (issue 14) on both pages in a real headless Chromium: the cashier starts it on the
 * counter page; the holder types every secret on the customer display's keypad; the counter page
 * shows the step, the tries left and the outcome, and never a digit (not in its page, not on its wire).
 */
describe('ui: PIN service — counter panel and customer display keypad (headless Chromium)', function () {
  this.timeout(120_000);
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
    f = await DaemonFixture.start({ config: { cardServices: { autoSyncAt: null } }, insert: false });
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

  /** Both pages, the counter's traffic recorded from before its first request. */
  async function pages(): Promise<{ counter: Page; customer: Page; traffic: Traffic }> {
    const counterCtx = await pairedContext(browser!, f.url, f.token);
    contexts.push(counterCtx);
    let traffic: Traffic | undefined;
    const counter = await open(counterCtx, '/', async (p) => (traffic = await Traffic.record(p)));
    const customer = await open(await displayContext(), '/customer');
    await counter.locator('#net.net-online').waitFor({ timeout: 10_000 });
    await customer.locator('#prompt').waitFor({ state: 'visible', timeout: 10_000 });
    return { counter, customer, traffic: traffic! };
  }

  const stepShown = (customer: Page, text: string) =>
    customer.locator('#ps-primary', { hasText: text }).waitFor({ timeout: 10_000 });

  async function bothAccessible(counter: Page, customer: Page, name: string): Promise<void> {
    await screenshot(customer, `customer-ps-${name}`);
    await screenshot(counter, `counter-ps-${name}`);
    await assertAccessible(customer, `customer-ps-${name}`, { aaa: true });
    await assertFitsScreen(customer, `customer-ps-${name}`);
    await assertAccessible(counter, `counter-ps-${name}`);
  }

  it('activation: current (wrong, then right) → new (too weak, then fine) → confirm → done; both pages axe-clean; no digit reaches the counter page', async () => {
    const { counter, customer, traffic } = await pages();

    await counter.getByRole('button', { name: /Activate new card/ }).click();
    await counter.locator('#ps-state[data-state="waiting_card"]').waitFor({ timeout: 10_000 });
    await stepShown(customer, '请插入卡片');
    assert.match(await customer.locator('#ps-title').innerText(), /修改密码\s+Change your PIN/);
    f.reader.insert(await newCard(f));

    // Step 1: the PIN from the issuer's letter, on the display's keypad.
    await stepShown(customer, '请输入发卡机构来信中的密码');
    await customer.locator('#keypad').waitFor({ state: 'visible' });
    assert.match(await customer.locator('#ps-title').innerText(), /激活新卡\s+Activate your new card/);
    assert.match(
      await customer.locator('#ps-primary').innerText(),
      /Enter the PIN in the letter from your card issuer/,
    );
    assert.match(await customer.locator('#ps-step').innerText(), /第 1 步，共 3 步\s+Step 1 of 3/);
    assert.equal(await customer.locator('#ps-primary span').first().getAttribute('lang'), 'zh-CN');
    assert.equal(await customer.locator('#ps-primary span').nth(1).getAttribute('lang'), 'en');
    assert.equal(await customer.locator('#prompt').isHidden(), true, 'the sale prompt gives way');
    await counter
      .locator('#ps-state', { hasText: 'Customer is entering the PIN on the customer display' })
      .waitFor({ timeout: 10_000 });
    assert.match(
      await counter.locator('#ps-state').innerText(),
      /Customer is entering the PIN on the customer display/,
    );
    assert.match(await counter.locator('#ps-detail').innerText(), /Step 1 of 3: the PIN from the issuer's letter/);
    await bothAccessible(counter, customer, '1-current');

    // A wrong one: tries left, boxed, on both pages.
    await clickDigits(customer, '9753');
    await customer.locator('#ps-notice', { hasText: '密码不对' }).waitFor({ timeout: 10_000 });
    assert.match(await customer.locator('#ps-notice').innerText(), /还可以再试 2 次\s+2 tries left/);
    await counter.locator('#ps-tries', { hasText: '2 tries left' }).waitFor({ timeout: 10_000 });
    assert.match(await counter.locator('#ps-detail').innerText(), /typed a wrong PIN/);
    await bothAccessible(counter, customer, '2-current-wrong');

    await clickDigits(customer, TRANSPORT_PIN);
    await stepShown(customer, '请设置新密码');
    assert.match(await customer.locator('#ps-primary').innerText(), /Choose a new PIN \(4–12 digits\)/);
    assert.match(await customer.locator('#ps-hint').innerText(), /not a run like 1234/);
    await counter.locator('#ps-detail', { hasText: 'Step 2 of 3: the new PIN' }).waitFor({ timeout: 10_000 });
    await bothAccessible(counter, customer, '3-new');

    // Too weak: asked again, with why.
    await clickDigits(customer, '7777');
    await customer.locator('#ps-notice', { hasText: '太容易被猜到' }).waitFor({ timeout: 10_000 });
    assert.match(await customer.locator('#ps-notice').innerText(), /Not all the same digit \(like 1111\)/);
    assert.match(await customer.locator('#ps-primary').innerText(), /请设置新密码/);
    await counter.locator('#ps-detail', { hasText: 'too easy to guess' }).waitFor({ timeout: 10_000 });
    await bothAccessible(counter, customer, '4-new-weak');

    // A keyboard attached to the display works too.
    await customer.bringToFront();
    await customer.keyboard.type('2580');
    await customer.keyboard.press('Enter');
    await stepShown(customer, '请再输入一次新密码');
    assert.match(await customer.locator('#ps-step').innerText(), /Step 3 of 3/);
    await counter.locator('#ps-detail', { hasText: 'Step 3 of 3' }).waitFor({ timeout: 10_000 });
    await bothAccessible(counter, customer, '5-confirm');
    await clickDigits(customer, '2580');

    await stepShown(customer, '密码已设置');
    assert.match(await customer.locator('#ps-primary').innerText(), /Your new PIN is set — the card is ready/);
    assert.equal(await customer.locator('#keypad').isHidden(), true);
    await counter.locator('#ps-state[data-state="done"]').waitFor({ timeout: 10_000 });
    assert.match(await counter.locator('#ps-outcome').innerText(), /Give the card back to the customer/);
    await bothAccessible(counter, customer, '6-done');

    // The customer's digits went to the daemon from the display only.
    const net = await traffic.all();
    assert.ok(
      traffic.events<{ state: string }>('pinService').some((v) => v.state === 'done'),
      'the counter followed the service',
    );
    assert.doesNotMatch(net, /\/entry/, 'the counter page never posts an entry');
    assert.doesNotMatch(net, /"pin"\s*:/, 'no PIN in any request or answer of the counter page');
    await assertNoSecrets(counter, traffic, ['9753', '7777', '2580'], 'counter page');

    // The holder closes the outcome: back to the welcome.
    await customer.locator('#ps-close').click();
    await customer.locator('#prompt').waitFor({ state: 'visible' });
  });

  it('unblock: a wrong PUK is asked again with its tries left, the new PINs must match; done; English first on the display', async () => {
    const applet = await newCard(f);
    {
      // Three wrong PINs straight on the card: blocked.
      applet.powerOn();
      const c = new CardClient({ extendedLength: true, transmit: async (a) => applet.transmit(a) });
      await c.select();
      for (let i = 0; i < 3; i++) await c.verifyPin(ascii('9999')).catch(() => undefined);
      applet.powerOff();
    }
    f.reader.insert(applet);
    const counterCtx = await pairedContext(browser!, f.url, f.token);
    contexts.push(counterCtx);
    let traffic: Traffic | undefined;
    const counter = await open(counterCtx, '/', async (p) => (traffic = await Traffic.record(p)));
    const customer = await open(await displayContext(), '/customer?lang=en');
    await counter.locator('#net.net-online').waitFor({ timeout: 10_000 });
    await customer.locator('#prompt').waitFor({ state: 'visible', timeout: 10_000 });

    await counter.getByRole('button', { name: /Unblock PIN/ }).click();
    await stepShown(customer, 'Enter your PUK unblocking code');
    assert.equal(await customer.locator('#ps-primary span').first().getAttribute('lang'), 'en', 'English first');
    assert.match(
      await customer.locator('#ps-primary').innerText(),
      /^Enter your PUK unblocking code\s+请输入 PUK 解锁码$/,
    );
    assert.match(await customer.locator('#ps-title').innerText(), /Unblock your PIN/);
    await counter.locator('#ps-detail', { hasText: 'Step 1 of 3: the PUK code' }).waitFor({ timeout: 10_000 });
    assert.match(await counter.locator('#ps-tries').innerText(), /10 tries left \(PUK\)/);
    await bothAccessible(counter, customer, 'u1-puk');

    // A PUK is 8 to 12 digits: 4 is refused on the display itself.
    await clickDigits(customer, '5555');
    await customer.locator('#kp-msg', { hasText: 'Type at least 8 digits' }).waitFor();
    await customer.locator('#kp-keys button[data-key="clear"]').click();

    await clickDigits(customer, '86429753'); // wrong, known only once the card tries it
    await stepShown(customer, 'Choose a new PIN');
    await clickDigits(customer, '3691');
    await stepShown(customer, 'Enter the new PIN again');
    await clickDigits(customer, '3692');
    await customer
      .locator('#ps-notice', { hasText: 'The two new PINs were not the same' })
      .waitFor({ timeout: 10_000 });
    await counter.locator('#ps-detail', { hasText: 'The two new PINs differed' }).waitFor({ timeout: 10_000 });
    await bothAccessible(counter, customer, 'u2-mismatch');
    await clickDigits(customer, '3691');
    await stepShown(customer, 'Enter the new PIN again');
    await clickDigits(customer, '3691');
    await customer.locator('#ps-notice', { hasText: 'Wrong PUK code' }).waitFor({ timeout: 10_000 });
    assert.match(await customer.locator('#ps-notice').innerText(), /9 tries left/);
    assert.match(await customer.locator('#ps-primary').innerText(), /Enter your PUK unblocking code/);
    await counter.locator('#ps-tries', { hasText: '9 tries left (PUK)' }).waitFor({ timeout: 10_000 });
    await bothAccessible(counter, customer, 'u3-puk-wrong');

    await clickDigits(customer, PUK);
    await stepShown(customer, 'Choose a new PIN');
    await clickDigits(customer, '3691');
    await stepShown(customer, 'Enter the new PIN again');
    await clickDigits(customer, '3691');
    await stepShown(customer, 'Your new PIN is set');
    await counter.locator('#ps-state[data-state="done"]').waitFor({ timeout: 10_000 });
    await bothAccessible(counter, customer, 'u4-done');
    await assertNoSecrets(counter, traffic!, [PUK, '86429753', '3691', '3692'], 'counter page');
  });

  it('cancelled from the counter, then a card pulled during the entry: both pages say what happened and what to do', async () => {
    f.reader.insert(f.applet); // an active card (PIN set): a plain change
    const { counter, customer } = await pages();

    await counter.getByRole('button', { name: /Change PIN/ }).click();
    await stepShown(customer, '请输入您现在的密码');
    assert.match(await customer.locator('#ps-primary').innerText(), /Enter your current PIN/);
    assert.match(await customer.locator('#ps-title').innerText(), /修改密码\s+Change your PIN/);
    const cancel = counter.getByRole('button', { name: /Cancel PIN service/ });
    await cancel.click();
    await stepShown(customer, '已取消，密码没有改变');
    assert.equal(await customer.locator('#keypad').isHidden(), true);
    await counter.locator('#ps-state[data-state="cancelled"]').waitFor({ timeout: 10_000 });
    assert.equal(await cancel.isHidden(), true);
    await bothAccessible(counter, customer, 'c1-cancelled');

    await counter.getByRole('button', { name: /Change PIN/ }).click();
    await stepShown(customer, '请输入您现在的密码');
    await clickDigits(customer, '42', false); // half typed when the card goes
    f.reader.remove();
    await stepShown(customer, '卡片被拔出了');
    assert.match(await customer.locator('#ps-hint').innerText(), /ask the cashier to start again/);
    assert.equal(await customer.locator('#keypad').isHidden(), true);
    assert.equal(await customer.locator('#kp-dots .kp-dot').count(), 0, 'the half-typed digits are gone');
    await counter.locator('#ps-state[data-state="failed"]').waitFor({ timeout: 10_000 });
    assert.match(
      await counter.locator('#ps-outcome').innerText(),
      /The card was removed[\s\S]*Put the card back in the reader/,
    );
    await bothAccessible(counter, customer, 'c2-removed');
  });

  it('the display warns about 20 s before the step times out (WCAG 2.2.1)', async () => {
    f.reader.insert(f.applet);
    const counterCtx = await pairedContext(browser!, f.url, f.token);
    contexts.push(counterCtx);
    const counter = await open(counterCtx, '/');
    const customer = await open(await displayContext(), '/customer', (p) => p.clock.install());
    await counter.locator('#net.net-online').waitFor({ timeout: 10_000 });
    await customer.locator('#prompt').waitFor({ state: 'visible', timeout: 10_000 });
    await counter.getByRole('button', { name: /Change PIN/ }).click();
    await stepShown(customer, '请输入您现在的密码');
    assert.equal(await customer.locator('#ps-time').isHidden(), true, 'no warning while there is time');
    await customer.clock.fastForward(105_000); // the step has 120 s: 15 s left on the display's clock
    await customer.locator('#ps-time').waitFor({ state: 'visible', timeout: 5_000 });
    assert.match(
      await customer.locator('#ps-time').innerText(),
      /时间快到了：还剩 1\d 秒\s+Time is nearly up: 1\d s left/,
    );
    assert.match((await customer.locator('#ps-time-say').textContent()) ?? '', /请在 20 秒内输完/);
    await screenshot(customer, 'customer-ps-t1-time');
    await assertAccessible(customer, 'customer-ps-t1-time', { aaa: true });
    await assertFitsScreen(customer, 'customer-ps-t1-time');
  });

  it('with two readers the cashier picks the one with the card; the choice goes with the start', async () => {
    f.reader.insert(f.applet);
    const counterCtx = await pairedContext(browser!, f.url, f.token);
    contexts.push(counterCtx);
    // A second, empty reader: the daemon cannot tell which one is meant without a card in only one.
    f.daemon.hub.add(new InProcessReader({ name: 'second reader', latencyMs: 0 }), 'simulated');
    const counter = await open(counterCtx, '/');
    await counter.locator('#ps-reader-row').waitFor({ state: 'visible', timeout: 10_000 });
    assert.deepEqual(await counter.locator('#ps-reader option').allInnerTexts(), [
      'Automatic (the reader with the card)',
      'fixture reader — card in',
      'second reader — no card',
    ]);
    await counter.getByLabel('Reader', { exact: true }).selectOption('fixture reader');
    const started = counter.waitForRequest((r) => r.method() === 'POST' && r.url().endsWith('/api/v1/pin-services'));
    await counter.getByRole('button', { name: /Change PIN/ }).click();
    assert.deepEqual((await started).postDataJSON(), { kind: 'change', reader: 'fixture reader' });
    await counter.locator('#ps-state[data-state="entry"]').waitFor({ timeout: 10_000 });
    await assertAccessible(counter, 'counter-ps-two-readers');
    await counter.getByRole('button', { name: /Cancel PIN service/ }).click();
    await counter.locator('#ps-state[data-state="cancelled"]').waitFor({ timeout: 10_000 });
  });
});
