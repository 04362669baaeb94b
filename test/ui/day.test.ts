import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { addDays, shopDayOf } from '../../host/close/shop-day.js';
import type { SaleSnapshot } from '../../host/sale/sale-types.js';
import { DaemonFixture } from '../support/daemon-fixture.js';
import { requireSystem } from '../support/system.js';
import { CHROMIUM, assertAccessible, launchChromium, pairedContext, screenshot, watch } from './browser.js';

const ZONE = 'Asia/Shanghai';

/**
 * The day on the counter page (docs/ui.md "History and day close"): the history of a day's sales with
 * search and reprint, and the day close with its Z report, in a real headless Chromium against a whole
 * counter, in zh-CN (the page's default) and axe-clean.
 */
describe('ui: history with reprint, and the day close (headless Chromium)', function () {
  this.timeout(90_000);
  let browser: Browser | undefined;
  let f: DaemonFixture;
  let ctx: BrowserContext | undefined;
  let problems: string[] = [];

  before(async function () {
    requireSystem(this, existsSync(CHROMIUM) ? [] : ['chromium'], 'apt-get install chromium');
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
  });
  beforeEach(async () => {
    f = await DaemonFixture.start({
      config: { shop: { timeZone: ZONE }, ui: { language: 'zh-CN' }, cardServices: { autoSyncAt: null } },
    });
  });
  afterEach(async function () {
    await ctx?.close();
    await f.stop();
    if (this.currentTest?.state === 'passed') assert.deepEqual(problems, [], 'no CSP violation, no script error');
  });

  async function pay(amount: number): Promise<SaleSnapshot> {
    const s = await f.api<SaleSnapshot>('POST', '/api/v1/sales', { amount });
    return f.waitForSale(s.body.saleId);
  }

  async function open(): Promise<Page> {
    ctx = await pairedContext(browser!, f.url, f.token);
    const page = await ctx.newPage();
    problems = (await watch(page)).problems;
    await page.goto(f.url + '/');
    return page;
  }

  it('history: the day’s sales in zh-CN, searched, and a receipt reprinted marked 副本 / COPY', async function () {
    const today = shopDayOf(Date.now(), ZONE);
    const paid = await pay(500);
    const c = await f.api<SaleSnapshot>('POST', '/api/v1/sales', { amount: 300 });
    await f.api('POST', `/api/v1/sales/${c.body.saleId}/cancel`);
    const page = await open();
    const rows = page.locator('#hist-table tbody tr');
    await rows.nth(1).waitFor({ timeout: 15_000 });
    assert.equal(await page.locator('#hist-date').inputValue(), today);
    assert.equal(await rows.count(), 2);
    const first = await rows.nth(0).innerText();
    assert.match(first, /¥5\.00/);
    assert.match(first, /已付款/);
    assert.ok(first.includes('…' + f.cardId.slice(-4).toUpperCase()), first);
    assert.match(await rows.nth(1).innerText(), /已取消/);
    assert.equal(await rows.nth(1).locator('button').count(), 0, 'no reprint for a cancelled sale');
    await assertAccessible(page, 'counter-history');

    // search by amount: one sale left
    await page.locator('#hist-q').fill('3.00');
    await page.locator('#hist-q').press('Enter');
    await page.locator('#hist-table tbody tr[data-outcome="cancelled"]').waitFor();
    await page.waitForFunction(() => {
      const g = globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } };
      return g.document.querySelectorAll('#hist-table tbody tr').length === 1;
    });
    // a search the API would refuse is stopped on the page, in words
    await page.locator('#hist-q').fill('<x>');
    await page.locator('#hist-go').click();
    await page
      .locator('#hist-msg')
      .filter({ hasText: /数字、字母/ })
      .waitFor();

    await page.locator('#hist-q').fill('');
    await page.locator('#hist-go').click();
    await page.locator(`#hist-table tr[data-sale="${paid.saleId}"] button.reprint`).click();
    await page.locator('#hist-copy').waitFor({ state: 'visible' });
    const copy = await page.locator('#hist-copy-lines').innerText();
    assert.match(copy, /^\*\*\* 副本 \/ COPY \*\*\*/);
    assert.match(copy, /金额 Amount: ¥5\.00/);
    assert.ok(copy.includes(paid.receipt!.recordId));
    await screenshot(page, 'counter-history-reprint');
    await assertAccessible(page, 'counter-history-reprint');
  });

  it('day close: the running figures, then the close of yesterday stored and shown as closed; today is refused, in Chinese', async function () {
    const today = shopDayOf(Date.now(), ZONE);
    if (today !== shopDayOf(Date.now() + 60_000, ZONE)) this.skip(); // midnight in Shanghai
    const yesterday = addDays(today, -1);
    const s = await pay(250);
    // yesterday's sale (the daemon's clock cannot be moved without its clock check refusing sales)
    f.daemon.store.db.prepare('UPDATE sales SET created_at = created_at - 86400000 WHERE sale_id = ?').run(s.saleId);
    f.daemon.store.db.prepare('UPDATE records SET stored_at = stored_at - 86400000 WHERE sale_id = ?').run(s.saleId);
    const page = await open();
    await page.locator('#close-report').waitFor({ state: 'visible', timeout: 15_000 });
    assert.match(await page.locator('#close-state').innerText(), /未日结/);

    await page.locator('#close-date').fill(yesterday);
    await page.locator('#close-show').click();
    await page.locator('#close-state').filter({ hasText: yesterday }).waitFor();
    page.once('dialog', (d) => void d.accept());
    await page.locator('#close-do').click();
    await page.locator('#close-report[data-state="closed"]').waitFor({ timeout: 15_000 });
    assert.match(await page.locator('#close-msg').innerText(), new RegExp(`${yesterday} 已日结`));
    const table = await page.locator('#close-table').innerText();
    assert.match(table, /销售 · 已付款\s+1\s+¥2\.50/);
    assert.match(await page.locator('#close-state').innerText(), /已日结/);
    assert.equal(f.daemon.store.closes.closedDates().join(), yesterday, 'stored by the daemon');
    await screenshot(page, 'counter-day-closed');
    await assertAccessible(page, 'counter-day-closed');

    await page.locator('#close-date').fill(today);
    page.once('dialog', (d) => void d.accept());
    await page.locator('#close-do').click();
    await page.locator('#close-msg[data-kind="error"]').waitFor();
    assert.match(await page.locator('#close-msg').innerText(), /这一天还没有结束/);
    await assertAccessible(page, 'counter-day-refused');
  });
});
