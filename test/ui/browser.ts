import { strict as assert } from 'node:assert';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** Debian's Chromium (the `chromium` package); playwright-core brings no browser of its own. */
export const CHROMIUM = '/usr/bin/chromium';

/** Flags for a headless run in a container: no sandbox (no user namespaces), nothing phoning home. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * The browser globals the tests touch inside pages. The project's tsconfig has no DOM lib (it is a
 * Node project), so code passed to page.evaluate reaches them through `globalThis as unknown as PageGlobals`.
 */
export interface PageGlobals {
  document: {
    cookie: string;
    documentElement: { lang: string };
    addEventListener(
      type: 'securitypolicyviolation',
      l: (e: { violatedDirective: string; blockedURI: string }) => void,
    ): void;
  };
  localStorage: object;
  sessionStorage: object;
  axe?: { run(ctx: unknown, opts: object): Promise<AxeResult> };
  __cspViolation(d: string): void;
}

interface AxeResult {
  violations: {
    id: string;
    impact: string | null;
    help: string;
    nodes: { target: unknown[]; failureSummary?: string }[];
  }[];
  passes: unknown[];
}

export const ARTIFACTS = join(process.cwd(), 'test-artifacts');
const SCREENSHOTS = join(ARTIFACTS, 'screenshots');
const AXE_DIR = join(ARTIFACTS, 'axe');

/** A full-page screenshot kept under test-artifacts/screenshots/ (git-ignored) for people to look at. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

const AXE_PATH = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

/**
 * Runs axe-core in the page and fails on any serious or critical violation. `aaa` also turns on
 * the enhanced (7:1) contrast rule, which must pass too. The full result goes to test-artifacts/axe/.
 */
export async function assertAccessible(page: Page, name: string, o: { aaa?: boolean } = {}): Promise<void> {
  assert.ok(
    await page.evaluate(() => (globalThis as unknown as PageGlobals).axe !== undefined),
    'axe-core was injected (watch() before goto)',
  );
  const result = await page.evaluate(async (aaa: boolean) => {
    const g = globalThis as unknown as PageGlobals;
    const r = await g.axe!.run(g.document, {
      rules: { 'color-contrast-enhanced': { enabled: aaa } },
      resultTypes: ['violations'],
    });
    return {
      violations: r.violations.map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        nodes: v.nodes.map((n) => ({ target: JSON.stringify(n.target), summary: n.failureSummary ?? '' })),
      })),
      passes: r.passes.length,
    };
  }, o.aaa === true);
  mkdirSync(AXE_DIR, { recursive: true });
  writeFileSync(join(AXE_DIR, `${name}.json`), JSON.stringify(result, null, 2));
  const bad = result.violations.filter(
    (v) => v.impact === 'serious' || v.impact === 'critical' || v.id === 'color-contrast-enhanced',
  );
  assert.equal(
    bad.length,
    0,
    `axe on ${name}: ${bad.map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target).join(', ')}`).join('; ')}`,
  );
}

/**
 * Prepares a page before its first navigation: injects axe-core, and watches for what must never
 * happen: a Content-Security-Policy violation (a page relying on inline code or a remote file) or
 * an uncaught script error. Console text is kept so a test can check that no secret was logged.
 * axe-core goes in as an init script: page.addScriptTag would add an inline <script>, which the
 * pages' own CSP (default-src 'self') rightly blocks, and the CSP must stay on while we test.
 */
export async function watch(page: Page): Promise<{ problems: string[]; console: string[] }> {
  const w = { problems: [] as string[], console: [] as string[] };
  page.on('pageerror', (e) => w.problems.push(`page error: ${e.message}`));
  page.on('console', (m) => w.console.push(`${m.type()}: ${m.text()}`));
  await page.exposeFunction('__cspViolation', (d: string) => {
    w.problems.push(`CSP violation: ${d}`);
  });
  await page.addInitScript({ path: AXE_PATH });
  await page.addInitScript(() => {
    const g = globalThis as unknown as PageGlobals;
    g.document.addEventListener('securitypolicyviolation', (e) =>
      g.__cspViolation(`${e.violatedDirective} ${e.blockedURI}`),
    );
  });
  return w;
}

/** A browser context whose cookie jar holds the daemon's session (paired as a merchant would). */
export async function pairedContext(browser: Browser, url: string, token: string): Promise<BrowserContext> {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'zh-CN' });
  const res = await ctx.request.post(`${url}/api/v1/pair`, { data: { token } });
  assert.equal(res.status(), 200, `pairing the test context: ${await res.text()}`);
  return ctx;
}
