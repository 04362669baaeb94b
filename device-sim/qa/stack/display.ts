import { existsSync } from 'node:fs';
import type { ProcessRegistry } from '../qa-types.js';
import { QA_ERRORS, qaError } from './stack-errors.js';

/** Debian's Chromium (the `chromium` package); playwright-core brings no browser of its own. */
export const CHROMIUM = '/usr/bin/chromium';

const INSTALL_HINT =
  'install Debian\'s chromium (apt-get install chromium) and the dev dependency playwright-core (npm ci), or drop "display: true" from the scenario';

/** The few playwright-core shapes used here (it is a devDependency, loaded only when a scenario asks for a display). */
interface PwPage {
  goto(url: string): Promise<unknown>;
  url(): string;
  screenshot(o: { fullPage: boolean }): Promise<Uint8Array>;
  waitForTimeout(ms: number): Promise<void>;
}
interface PwContext {
  request: { post(url: string, o: { data: unknown }): Promise<{ status(): number; text(): Promise<string> }> };
  newPage(): Promise<PwPage>;
  close(): Promise<void>;
}
interface PwBrowser {
  newContext(o: { viewport: { width: number; height: number }; locale: string }): Promise<PwContext>;
  close(): Promise<void>;
}
interface PwServer {
  wsEndpoint(): string;
  process(): { pid?: number };
  close(): Promise<void>;
}
interface PlaywrightCore {
  chromium: {
    launchServer(o: { executablePath: string; headless: boolean; args: string[] }): Promise<PwServer>;
    connect(ws: string): Promise<PwBrowser>;
  };
}

/**
 * The customer display (devices.display): the daemon's /customer page in headless Chromium, paired with
 * the `display` scope (docs/host-api.md §2.2), for `screenshot` steps. The browser is launched as a server
 * so that its process is known and recorded (a killed runner's reaper takes it down with its group).
 */
export class CustomerDisplay {
  private page: PwPage | undefined;
  private context: PwContext | undefined;
  private pairedFor = '';

  private constructor(
    private readonly server: PwServer,
    private readonly browser: PwBrowser,
    private readonly registry: ProcessRegistry,
    private readonly pid: number | undefined,
  ) {}

  static async launch(registry: ProcessRegistry): Promise<CustomerDisplay> {
    if (!existsSync(CHROMIUM))
      throw qaError(
        QA_ERRORS.displayUnavailable,
        `the scenario has a customer display, but ${CHROMIUM} is missing`,
        INSTALL_HINT,
      );
    let pw: PlaywrightCore;
    try {
      pw = (await import('playwright-core')) as unknown as PlaywrightCore;
    } catch (e) {
      throw qaError(
        QA_ERRORS.displayUnavailable,
        'the scenario has a customer display, but playwright-core is not installed',
        INSTALL_HINT,
        e,
      );
    }
    const server = await pw.chromium.launchServer({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-sync'],
    });
    const pid = server.process().pid;
    if (pid) registry.addProcess(pid, 'chromium (customer display)');
    try {
      const browser = await pw.chromium.connect(server.wsEndpoint());
      return new CustomerDisplay(server, browser, registry, pid);
    } catch (e) {
      await server.close().catch(() => undefined); // not yet the stack's to close: nobody else would
      if (pid) registry.removeProcess(pid);
      throw e;
    }
  }

  /**
   * A PNG of the display as it is now. The daemon's URL changes at each restart (port 0): the page is
   * paired and opened again then (the pairing cookie itself survives restarts; the token does not change).
   */
  async screenshot(daemon: { url: string; token: string }): Promise<Uint8Array> {
    if (!daemon.url)
      throw qaError(QA_ERRORS.stepInvalid, 'screenshot: the daemon is not running', 'start the daemon first');
    if (!this.page || this.pairedFor !== daemon.url) {
      await this.context?.close();
      const ctx = await this.browser.newContext({ viewport: { width: 1024, height: 768 }, locale: 'zh-CN' });
      this.context = ctx;
      const res = await ctx.request.post(`${daemon.url}/api/v1/pair`, {
        data: { token: daemon.token, scope: 'display' },
      });
      if (res.status() !== 200)
        throw qaError(
          QA_ERRORS.stackFailed,
          `pairing the customer display failed: ${res.status()} ${await res.text()}`,
          'check the daemon log in the report',
        );
      this.page = await ctx.newPage();
      await this.page.goto(`${daemon.url}/customer`);
      this.pairedFor = daemon.url;
      await this.page.waitForTimeout(500); // the page's first status event
    }
    return this.page.screenshot({ fullPage: false });
  }

  async close(): Promise<void> {
    await this.context?.close().catch(() => undefined);
    await this.browser.close().catch(() => undefined);
    await this.server.close().catch(() => undefined);
    if (this.pid) this.registry.removeProcess(this.pid);
  }
}
