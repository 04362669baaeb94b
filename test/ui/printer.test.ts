import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext } from 'playwright-core';
import { SimPrinter } from '../../device-sim/printer/index.js';
import type { SaleSnapshot } from '../../host/sale/sale-types.js';
import { DaemonFixture } from '../support/daemon-fixture.js';
import { startPtyPair, socatPath, type PtyPair } from '../support/pty-pair.js';
import { requireSystem } from '../support/system.js';
import { CHROMIUM, assertAccessible, launchChromium, pairedContext, screenshot, watch } from './browser.js';

/**
 * The counter page's printer panel (host/ui/counter-printer.js): the printer's state and the receipts
 * waiting, in Chinese and English, live; the simulated printer on a socat pty, the real daemon.
 */
describe('ui: the receipt printer on the counter page (headless Chromium)', function () {
  this.timeout(90_000);
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  let f: DaemonFixture | undefined;
  let pty: PtyPair | undefined;
  let sim: SimPrinter | undefined;
  let dir: string;

  before(async function () {
    requireSystem(
      this,
      [...(existsSync(CHROMIUM) ? [] : ['chromium']), ...(socatPath() ? [] : ['socat'])],
      'apt-get install chromium socat',
    );
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
  });
  afterEach(async () => {
    await context?.close();
    await f?.stop();
    await sim?.stop();
    await pty?.kill();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('shows paper out and the receipt waiting in Chinese and English, then ready once it printed', async () => {
    dir = mkdtempSync(join(tmpdir(), 'cardpost-ui-printer-'));
    pty = await startPtyPair(join(dir, 'host'), join(dir, 'printer'));
    sim = new SimPrinter({ path: pty.b });
    await sim.start();
    sim.setPaperOut(true);
    f = await DaemonFixture.start({
      // A generous answer time: on a loaded machine a 300 ms one made a paper-out printer read as offline
      // for a poll (this test is about paper, not about a silent printer: test/integration covers that).
      config: { printer: { path: pty.a, statusIntervalMs: 100, answerTimeoutMs: 3000 } },
    });
    context = await pairedContext(browser!, f.url, f.token);
    const page = await context.newPage();
    const { problems } = await watch(page);
    await page.goto(f.url + '/');
    const state = page.locator('#printer-state');
    await page.locator('#printer[data-state="paper-out"]').waitFor({ timeout: 10_000 });
    assert.match(await state.innerText(), /打印机缺纸 \/ Printer out of paper/);
    await page.locator('#printer-hint', { hasText: '请装入新纸卷' }).waitFor({ timeout: 10_000 });

    const s = (await f.api<SaleSnapshot>('POST', '/api/v1/sales', { amount: 500 })).body;
    await f.waitForSale(s.saleId, ['done']);
    const job = page.locator('#printer-jobs li[data-state="queued"]');
    await job.waitFor({ timeout: 10_000 });
    await page
      .locator('#printer-jobs li', { hasText: /¥5\.00.*等待打印 \/ waiting to print/ })
      .waitFor({ timeout: 10_000 });
    await screenshot(page, 'counter-printer-paper-out');
    await assertAccessible(page, 'counter-printer-paper-out');

    const printed = new Promise((r) => sim!.once('receipt', r));
    sim.setPaperOut(false);
    await printed;
    await page.locator('#printer[data-state="ready"]').waitFor({ timeout: 10_000 });
    // The list empties on the status event after the one that said ready (two events, not one).
    await page.locator('#printer-jobs li').first().waitFor({ state: 'detached', timeout: 10_000 });
    assert.equal(await page.locator('#printer-jobs li').count(), 0);
    assert.match(await state.innerText(), /打印机就绪 \/ Printer ready/);
    assert.deepEqual(problems, [], 'no CSP violation, no script error');
  });
});
