import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CardApplet } from '../../device-sim/card/applet.js';
import { MemoryBacking, Nvm } from '../../device-sim/card/nvm.js';
import { InProcessReader } from '../../device-sim/reader/in-process-reader.js';
import { SimBank } from '../../device-sim/bank/index.js';
import { initIssuerDir, issueTerminal, type IssuerMaterial } from '../../host/issuer/issuer-dir.js';
import { prepareSimCard } from '../../host/cli/sim-command.js';
import { loadConfig, type ConfigInput } from '../../host/daemon/config.js';
import { Daemon } from '../../host/daemon/daemon.js';
import { createLogger } from '../../host/daemon/log.js';
import type { SaleFaultHooks } from '../../host/sale/sale-engine.js';
import { FINAL_STATES, type SaleSnapshot } from '../../host/sale/sale-types.js';
import type { TerminalChannelOptions } from '../../protocol/terminal/index.js';

export const FIXTURE_PIN = '1234';

/**
 * A whole counter in this process for tests: an issuer, a terminal, the simulated bank on
 * loopback, a personalised simulated card in an in-process reader, and the real Daemon (SQLite
 * queue in a temp dir, local API on a free port). Everything but the card medium is the production code.
 */
export class DaemonFixture {
  private constructor(
    readonly dir: string,
    readonly issuer: IssuerMaterial,
    readonly bank: SimBank,
    readonly bankUrl: string,
    readonly reader: InProcessReader,
    readonly applet: CardApplet,
    readonly cardId: string,
    public daemon: Daemon,
    readonly token: string,
    private readonly configInput: ConfigInput,
    private readonly faults: SaleFaultHooks | undefined,
  ) {}

  static async start(
    o: {
      config?: ConfigInput;
      faults?: SaleFaultHooks;
      balance?: number;
      readerLatencyMs?: number;
      insert?: boolean;
      serialChannel?: TerminalChannelOptions;
      clock?: () => number;
    } = {},
  ): Promise<DaemonFixture> {
    const dir = mkdtempSync(join(tmpdir(), 'cardpost-daemon-'));
    const issuer = initIssuerDir(join(dir, 'issuer'), { name: 'fixture issuer' });
    issueTerminal(issuer, 'T-TEST-01', join(dir, 'terminal'));
    const bank = new SimBank({
      dbPath: join(dir, 'bank.sqlite'),
      issuerCertificate: issuer.ca.certificate,
      authority: issuer.authority,
      faults: { seed: 7 },
    });
    const { url: bankUrl } = await bank.listen({ host: '127.0.0.1', port: 0 });
    const applet = new CardApplet(new Nvm(new MemoryBacking()), { extendedLength: true });
    const made = await prepareSimCard(applet, {
      issuerDir: issuer.dir,
      pin: FIXTURE_PIN,
      balance: o.balance ?? 500_000,
      currency: 156,
    });
    const reader = new InProcessReader({ name: 'fixture reader', latencyMs: o.readerLatencyMs ?? 0 });
    const configInput: ConfigInput = {
      dataDir: join(dir, 'data'),
      terminalDir: join(dir, 'terminal'),
      merchantId: 'M-TEST',
      currency: 156,
      authorityCertificate: join(issuer.dir, 'authority.cert'),
      ...o.config,
      // Shop days in UTC unless a test names a zone: the suites' dates do not depend on the machine's zone.
      shop: { timeZone: 'UTC', ...o.config?.shop },
      // Tests drive sales through the engine's events, not by following them over the API as clients
      // do: the longest follow time-out, so only test/security/abandoned-sale.test.ts meets the default.
      // PINs from the counter (bearer token) as most tests send them; test/daemon/pin-entry.test.ts and the
      // multi-process suites run the product's default, the customer display.
      sale: { followTimeoutMs: 60_000, pinEntry: 'counter', ...o.config?.sale },
      // The counter page in English unless a test asks for zh-CN (the product's default): the older UI tests read English.
      ui: { language: 'en', ...o.config?.ui },
      bank: {
        url: bankUrl,
        healthIntervalMs: 200,
        backoffBaseMs: 20,
        backoffMaxMs: 300,
        timeoutMs: 2000,
        ...o.config?.bank,
      },
      api: { port: 0, ...o.config?.api },
      readers: { pcsc: false, ...o.config?.readers },
    };
    const daemon = await Daemon.start({
      config: loadConfig({ overrides: configInput, env: {} }),
      log: createLogger('silent'),
      readers: [{ reader, kind: 'simulated' }],
      ...(o.faults ? { faults: o.faults } : {}),
      ...(o.serialChannel ? { serialChannel: o.serialChannel } : {}),
      ...(o.clock ? { clock: o.clock } : {}),
    });
    if (o.insert !== false) reader.insert(applet);
    const token = (await import('node:fs')).readFileSync(join(dir, 'data', 'api-token'), 'utf8').trim();
    return new DaemonFixture(
      dir,
      issuer,
      bank,
      bankUrl,
      reader,
      applet,
      made.cardId,
      daemon,
      token,
      configInput,
      o.faults,
    );
  }

  get url(): string {
    return this.daemon.url;
  }

  /** Stop and start the daemon on the same data directory (the card and bank stay as they are). */
  async restart(o: { faults?: SaleFaultHooks } = {}): Promise<void> {
    await this.daemon.stop();
    const faults = o.faults ?? this.faults;
    this.daemon = await Daemon.start({
      config: loadConfig({ overrides: this.configInput, env: {} }),
      log: createLogger('silent'),
      readers: [{ reader: this.reader, kind: 'simulated' }],
      ...(faults ? { faults } : {}),
    });
  }

  async api<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: T }> {
    const res = await fetch(this.url + path, {
      method,
      headers: {
        Authorization: `Bearer ${this.token}`,
        ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
  }

  /** Resolve with the sale once it reaches one of `states` (or any final state). */
  waitForSale(saleId: string, states: string[] = [...FINAL_STATES], timeoutMs = 10_000): Promise<SaleSnapshot> {
    return new Promise((resolve, reject) => {
      const engine = this.daemon.engine;
      const check = (s: SaleSnapshot | undefined) => {
        if (s && s.saleId === saleId && states.includes(s.state)) {
          cleanup();
          resolve(s);
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new Error(
            `sale ${saleId} did not reach ${states.join('/')} in ${timeoutMs} ms (now ${engine.get(saleId)?.state})`,
          ),
        );
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        engine.off('sale', check);
      };
      engine.on('sale', check);
      check(engine.get(saleId));
    });
  }

  async stop(): Promise<void> {
    await this.daemon.stop().catch(() => undefined);
    await this.bank.close().catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
