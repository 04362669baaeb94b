import { strict as assert } from 'node:assert';
import type { Page } from 'playwright-core';
import type { PageGlobals } from './browser.js';

/**
 * Everything a page sent and received over the network: request bodies, response bodies, and each
 * message of its event stream (read through the Chrome DevTools Protocol, since an event stream's
 * response never ends). For checking that PIN digits never reach a page that must not see them.
 */
export class Traffic {
  readonly texts: string[] = [];
  private readonly pending: Promise<void>[] = [];

  static async record(page: Page): Promise<Traffic> {
    const t = new Traffic();
    page.on('request', (r) => {
      t.texts.push(`${r.method()} ${r.url()} ${r.postData() ?? ''}`);
    });
    page.on('response', (r) => {
      if ((r.headers()['content-type'] ?? '').includes('text/event-stream')) return;
      t.pending.push(
        r.text().then(
          (body) => void t.texts.push(body),
          () => undefined, // a page closed before the body came
        ),
      );
    });
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    cdp.on('Network.eventSourceMessageReceived', (m) => {
      t.texts.push(`event ${m.eventName}: ${m.data}`);
    });
    return t;
  }

  /** All of it so far, once the bodies still being read are in. */
  async all(): Promise<string> {
    await Promise.all(this.pending.splice(0));
    return this.texts.join('\n');
  }

  /** Event stream messages of one event name, parsed. */
  events<T>(name: string): T[] {
    const prefix = `event ${name}: `;
    return this.texts.filter((x) => x.startsWith(prefix)).map((x) => JSON.parse(x.slice(prefix.length)) as T);
  }
}

/** The page's whole DOM (markup with attributes, the text, every field's value) and its storage. */
export async function pageContent(page: Page): Promise<string> {
  return page.evaluate(() => {
    const g = globalThis as unknown as PageGlobals & {
      document: {
        documentElement: { outerHTML: string };
        body: { innerText: string };
        querySelectorAll(s: string): Iterable<{ value: string }>;
      };
    };
    const values = [...g.document.querySelectorAll('input, textarea, select')].map((e) => e.value);
    return [
      g.document.documentElement.outerHTML,
      g.document.body.innerText,
      values.join('|'),
      JSON.stringify(g.localStorage),
      JSON.stringify(g.sessionStorage),
    ].join('\n');
  });
}

/** None of `secrets` in the page's DOM, storage or network traffic. */
export async function assertNoSecrets(page: Page, traffic: Traffic, secrets: string[], who: string): Promise<void> {
  const dom = await pageContent(page);
  const net = await traffic.all();
  for (const s of secrets) {
    // The digits as a PIN would travel or show: not inside a longer run of digits or hex (a time in ms,
    // a UUID, a record hash hold any four digits now and then, and are not a PIN).
    const alone = new RegExp(`(?<![0-9A-Fa-f])${s}(?![0-9A-Fa-f])`);
    assert.ok(!alone.test(dom), `${who}: the digits ${s} are not in the page (DOM, fields, storage)`);
    assert.ok(!alone.test(net), `${who}: the digits ${s} are not in the page's network traffic`);
  }
}

/** Presses the keys of the on-screen keypad of the customer display, one click each, then OK. */
export async function clickDigits(page: Page, digits: string, ok = true): Promise<void> {
  for (const d of digits) await page.locator(`#kp-keys button[data-key="${d}"]`).click();
  if (ok) await page.locator('#kp-keys button[data-key="ok"]').click();
}

/** The customer display fits its screen: nothing to scroll to (an elderly holder would not find it). */
export async function assertFitsScreen(page: Page, name: string): Promise<void> {
  const [scroll, inner] = await page.evaluate(() => {
    const g = globalThis as unknown as { innerHeight: number; document: { documentElement: { scrollHeight: number } } };
    return [g.document.documentElement.scrollHeight, g.innerHeight];
  });
  assert.ok(scroll <= inner + 1, `${name}: the display fits the screen without scrolling (${scroll} > ${inner})`);
}
