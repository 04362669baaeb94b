import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import type { Browser, BrowserContext } from 'playwright-core';
import { DaemonFixture } from '../support/daemon-fixture.js';
import { requireSystem } from '../support/system.js';
import { CHROMIUM, launchChromium, pairedContext, watch } from './browser.js';

/**
 * The counter page words a refused request by the kind the error registry gives its code
 * (docs/errors.md): the API sends `kind` with every error, the page leads with it.
 */
describe('ui: a refusal on the counter page, worded by its kind (headless Chromium)', function () {
  this.timeout(90_000);
  let browser: Browser | undefined;
  let ctx: BrowserContext | undefined;
  let f: DaemonFixture | undefined;

  before(async function () {
    requireSystem(this, existsSync(CHROMIUM) ? [] : ['chromium'], 'apt-get install chromium');
    browser = await launchChromium();
  });
  after(async () => {
    await ctx?.close();
    await f?.stop();
    await browser?.close();
  });

  it('an amount over the counter\'s per-sale limit: "Declined:", what happened and what to do, no sale started', async () => {
    f = await DaemonFixture.start({ config: { limits: { perSale: 1000 } } });
    ctx = await pairedContext(browser!, f.url, f.token);
    const page = await ctx.newPage();
    const seen = await watch(page);
    await page.goto(f.url + '/');
    await page.locator('#net.net-online').waitFor({ state: 'visible', timeout: 15_000 });
    await page.keyboard.type('50.00');
    await page.keyboard.press('Enter');
    const error = page.locator('#amount-error');
    await error.waitFor({ state: 'visible', timeout: 10_000 });
    const words = await error.innerText();
    assert.match(words, /^Declined: /, `the refusal leads with its kind: ${words}`);
    assert.match(words, / — /, 'what happened, then what to do');
    assert.equal(f.daemon.engine.active().length, 0, 'no sale was started');
    assert.deepEqual(seen.problems, [], 'no CSP violation and no script error');
  });
});
